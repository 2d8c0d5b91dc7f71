"""The tiny test model: builds offline, loads with the Auto classes, deterministic, compact."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from spenv.agents.testing import IM_END, tiny_model

torch = pytest.importorskip("torch", reason="HFAgent needs the train extra (torch)")
transformers = pytest.importorskip("transformers", reason="HFAgent needs the train extra")
AutoModelForCausalLM = transformers.AutoModelForCausalLM
AutoTokenizer = transformers.AutoTokenizer


def _digest(folder: str) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).iterdir())
        if p.is_file()
    }


def test_loads_with_auto_classes_and_chat_template(tiny_path: str) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_path)
    assert 259 <= len(tok) <= 2048
    assert model.config.vocab_size == len(tok)
    assert tok.eos_token == IM_END and tok.pad_token_id is not None
    messages = [
        {"role": "system", "content": "You play Kuhn poker."},
        {"role": "user", "content": "Your card: K. Your move?"},
    ]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "You play Kuhn poker." in text and "Your card: K." in text
    assert text.endswith("assistant\n")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), len(tok))
    assert torch.isfinite(logits).all()


def test_moves_take_few_tokens_and_round_trip(tiny_path: str) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_path)
    for move in ("[bet]", "[check]", "[call]", "[fold]", "[5]", "[Accept]"):
        ids = tok(move, add_special_tokens=False)["input_ids"]
        assert len(ids) <= 3, (move, tok.convert_ids_to_tokens(ids))
        assert tok.decode(ids) == move
    text = "Ünïcode and emoji 🂡 survive: \\boxed{[bet]}"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_same_seed_same_files_other_seed_other_weights(tmp_path: Path, tiny_path: str) -> None:
    again = tiny_model(tmp_path / "again")
    assert _digest(again) == _digest(tiny_path)
    other = tiny_model(tmp_path / "other", seed=1, games_per_env=6)
    assert _digest(other)["model.safetensors"] != _digest(tiny_path)["model.safetensors"]


def test_options_shape_the_model(tmp_path: Path) -> None:
    path = tiny_model(tmp_path / "m", layers=1, hidden_size=32, heads=2, kv_heads=1, vocab_size=400)
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.num_hidden_layers == 1
    assert model.config.hidden_size == 32
    assert model.config.vocab_size == len(AutoTokenizer.from_pretrained(path)) <= 400


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vocab_size"):
        tiny_model(tmp_path / "x", vocab_size=100)
    with pytest.raises(ValueError, match="divisible"):
        tiny_model(tmp_path / "y", hidden_size=30, heads=4)
