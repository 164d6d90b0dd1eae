"""DuckDB, in process, for set-based work over data streamed out of the state store or files."""
