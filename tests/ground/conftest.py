"""Fixtures the console test files share: the operator console over the real link (``operator``) and
NiceGUI's simulated user on its pages (``user``), defined in ``test_console_operator``."""

from tests.ground.test_console_operator import operator, user  # noqa: F401  (fixtures)
