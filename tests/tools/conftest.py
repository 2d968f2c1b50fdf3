from tiny_run import tiny_config, tiny_imagenet  # noqa: F401 (fixtures)
