"""Pure metering: aggregation formulas, time buckets and event checks."""
