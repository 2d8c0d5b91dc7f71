"""The evaluation harness (transfer suites, game evaluations, reports)."""
