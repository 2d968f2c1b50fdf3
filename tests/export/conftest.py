import pytest

pytest.register_assert_rewrite("demo_model")  # its shared checks report like a test's own asserts

from demo_model import trained_demo  # noqa: E402, F401 (fixture)
