"""Verifier backends: each returns a typed :class:`Verdict`.

Games call verifiers (never the other way round); the evaluation harness and the trainers read
their verdicts. A verifier never turns an exception into a silent zero: a failure is a verdict
with status ``error`` (or ``timeout``) and the reason in ``detail``.
"""

from spenv.verifiers.verdict import STATUSES, Verdict

__all__ = ["STATUSES", "Verdict"]
