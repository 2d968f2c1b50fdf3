from demo_model import trained_demo  # noqa: F401 (fixture)
