"""Verifier backends (math grading, code sandbox, proof checkers, search corpus, judges)."""
