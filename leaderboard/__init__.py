"""The match store, ratings and the leaderboard page."""
