"""Shared fixtures for the agent tests: one tiny model folder per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one intra-op thread: on a busy 2-core machine, two threads
    spin-waiting on each other make every small matrix product 10-100x slower."""
    try:
        import torch
    except ImportError:  # the tests that need torch skip on their own
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny Llama model and tokenizer (see ``spenv.agents.testing.tiny_model``)."""
    pytest.importorskip("transformers", reason="the tiny model needs the train extra")
    from spenv.agents.testing import tiny_model

    return tiny_model(Path(tmp_path_factory.mktemp("tiny")) / "model")
