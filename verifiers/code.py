"""The code sandbox under its old name: see :mod:`spenv.verifiers.sandbox`."""

from spenv.verifiers import sandbox as _sandbox
from spenv.verifiers.sandbox import *  # noqa: F403  (the same public names)

__all__ = list(_sandbox.__all__)
