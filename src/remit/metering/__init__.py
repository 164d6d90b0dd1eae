"""Usage metering: billing meters, the raw meter event log, rollups and summaries."""
