"""The match store, ratings and the leaderboard page.

- :mod:`.store`: :class:`MatchStore`, a SQLite (WAL) store of episodes with a versioned schema;
  imports are idempotent by episode id and committed in batches.
- :mod:`.ratings`: Elo, Bradley-Terry by maximum likelihood with bootstrap intervals, TrueSkill.
- :mod:`.page`: the self-contained HTML page of a store's ratings (``leaderboard_data``,
  ``render_html``, ``build_page``); :mod:`.cli`: ``spenv leaderboard import|build|serve``.
"""

from spenv.leaderboard.ratings import (
    bradley_terry,
    bradley_terry_ci,
    elo,
    matches_from_store,
    trueskill,
)
from spenv.leaderboard.store import ImportReport, MatchStore

__all__ = [
    "ImportReport",
    "MatchStore",
    "bradley_terry",
    "bradley_terry_ci",
    "elo",
    "matches_from_store",
    "trueskill",
]
