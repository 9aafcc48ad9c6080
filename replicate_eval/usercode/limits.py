"""The default time limit of one call of the config's Python code: a name the CLI declares
`--check-timeout` with, without importing the worker pool."""

DEFAULT_TIME_LIMIT = 5.0  # seconds per call: --check-timeout
