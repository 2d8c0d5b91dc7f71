"""Repository-wide pytest hooks.

Tests that need an external backend (a binary such as coqc or bwrap, a service, a GPU) carry
``@pytest.mark.backend("name")`` and skip with the reason when it is missing. Under CI
(``CI=true``) such a skip is a failure: CI installs every backend, so a skip there means an
install step is missing.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("CI", "").lower() in ("1", "true", "yes")
        and item.get_closest_marker("backend") is not None
    ):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"backend test skipped under CI (install the backend): {reason}"
