"""The evaluation harness: transfer suites, game evaluations, run comparisons.

- :mod:`spenv.benchmarks.suites`: the benchmark suites (how to read, prompt and grade each) and
  the prompt templates;
- :mod:`spenv.benchmarks.transfer`: resumable, crash-safe transfer runs (``spenv eval transfer``);
- :mod:`spenv.benchmarks.metrics`: pass@k, maj@k, bootstrap intervals;
- :mod:`spenv.benchmarks.compare`: paired comparison of two runs (``spenv eval compare``);
- :mod:`spenv.benchmarks.games`: an agent against fixed opponents (``spenv eval games``).

Nothing is imported here, so ``import spenv`` stays light.
"""
