"""The v2 API (JSON bodies): the meter event session and stream."""
