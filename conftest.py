"""Repository-wide pytest hooks.

Tests that need an external backend (a binary such as coqc or bwrap, a service, a GPU) carry
``@pytest.mark.backend("name")`` and skip with the reason when it is missing. Under ``make test``
(which sets ``SPENV_REQUIRE_BACKENDS=1`` after installing every backend) and under CI
(``CI=true``) such a skip is a failure: a skip there means an install step is missing. A plain
``pytest`` on a machine without the backends still skips them, with the reason.
"""

from __future__ import annotations

import os

import pytest


def _required() -> bool:
    return any(
        os.environ.get(name, "").lower() in ("1", "true", "yes")
        for name in ("CI", "SPENV_REQUIRE_BACKENDS")
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and not hasattr(report, "wasxfail")  # an expected failure, not a missing backend
        and _required()
        and item.get_closest_marker("backend") is not None
    ):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"backend test skipped where backends are required (install it): {reason}"
