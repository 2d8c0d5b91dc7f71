"""Shared fixtures for the agent tests: one tiny model folder per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers", reason="the LLM agent tests need the train extra")


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny Llama model and tokenizer (see ``spenv.agents.testing.tiny_model``)."""
    from spenv.agents.testing import tiny_model

    return tiny_model(Path(tmp_path_factory.mktemp("tiny")) / "model")
