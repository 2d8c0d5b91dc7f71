"""Text spaces for PettingZoo/Gymnasium.

Observations and actions in spenv are text. Gymnasium's ``Text`` space only admits its charset
(alphanumeric by default), and PettingZoo's ``api_test`` compares ``observation.dtype`` with the
space's ``dtype``; a plain ``str`` has no ``dtype``. So spenv uses:

- :class:`TextObs`, a ``str`` subclass that carries the ``dtype`` Gymnasium's ``Text`` reports, so
  users still get an ordinary string;
- :class:`UnicodeText`, a ``Text`` space whose ``contains`` accepts any string up to its length
  limit (any unicode the env can produce), while ``sample`` keeps ``Text``'s behaviour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.spaces import Text

_TEXT_DTYPE = np.dtype("<U")


class TextObs(str):
    """A ``str`` that also carries ``dtype`` (``<U``), as PettingZoo's checks expect."""

    __slots__ = ()
    dtype = _TEXT_DTYPE


class UnicodeText(Text):
    """A text space that contains every ``str`` of at most ``max_length`` characters."""

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnicodeText) and other.max_length == self.max_length

    __hash__ = Text.__hash__


#: Observations up to 1M characters; actions up to 1M characters (longer text is an invalid move).
OBSERVATION_SPACE_LENGTH = 1_000_000
ACTION_SPACE_LENGTH = 1_000_000
