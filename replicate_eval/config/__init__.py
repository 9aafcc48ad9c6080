"""The config stage: a YAML file in, a validated ``EvalConfig`` (``config.types``) out, by
``config.load.load_config``."""
