"""GPU-recipe settings checked on the CPU with the tiny model: bf16 weights lose most updates at
a small learning rate, fp32 master weights with bf16 compute keep them; ``prompt_style`` reaches
the vLLM agent."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from spenv.agents.train import RECIPES, load_config  # noqa: E402
from spenv.agents.train.trainer import Trainer, make_rollout_agent  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from spenv.agents.testing import tiny_model

    return tiny_model(tmp_path_factory.mktemp("tiny") / "m", layers=1, hidden_size=64)


def _changed_fraction(tiny: str, out, model: dict) -> float:
    cfg = load_config(
        {
            "seed": 0,
            "games_per_step": 16,
            "micro_batch_size": 64,
            "learning_rate": 1.0e-6,  # the full fine-tuning recipe's
            "envs": [{"id": "KuhnPoker-v1"}],
            "model": {"path": tiny, **model},
            "generation": {"max_new_tokens": 3, "batch_size": 16, "prompt_style": "plain"},
            "advantage": {"estimator": "grpo", "group_by": "prompt", "scale": False},
            "tensorboard": False,
            "threads": 1,
            "out": str(out),
        }
    )
    trainer = Trainer(cfg, quiet=True)
    samples, _ = trainer.build_samples(trainer.rollout(0)[0])
    for s in samples:  # every decision gets a signal (the sampled games may give ties)
        s.advantage = 1.0 if s.valid else -1.0
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.update(samples, 0)
    changed = total = 0
    for n, p in trainer.model.named_parameters():
        if p.grad is None or not torch.any(p.grad != 0):
            continue  # no gradient reached it (unused embedding rows are counted below)
        mask = p.grad != 0
        changed += int((before[n][mask] != p.detach()[mask]).sum())
        total += int(mask.sum())
    return changed / total


def test_bf16_weights_drop_small_updates_and_fp32_master_weights_keep_them(tiny, tmp_path):
    pure = _changed_fraction(tiny, tmp_path / "bf16", {"dtype": "bfloat16"})
    mixed = _changed_fraction(
        tiny, tmp_path / "mixed", {"dtype": "float32", "compute_dtype": "bfloat16"}
    )
    print(f"weights changed by one step at lr 1e-6: bf16 {pure:.1%}, fp32 master {mixed:.1%}")
    assert pure < 0.2  # most bf16 updates round away
    assert mixed > 0.95  # every weight with a gradient moves


def test_the_full_fine_tuning_recipe_keeps_fp32_master_weights():
    cfg = load_config(RECIPES / "spiral_qwen3_4b.yaml")
    assert cfg.model.dtype == "float32" and cfg.model.compute_dtype == "bfloat16"
    with pytest.raises(Exception, match=r"compute_dtype needs model\.dtype float32"):
        load_config(
            {
                "envs": [{"id": "KuhnPoker-v1"}],
                "model": {"tiny": {}, "dtype": "bfloat16", "compute_dtype": "bfloat16"},
            }
        )


def test_prompt_style_reaches_the_vllm_agent(monkeypatch):
    # vLLM does not run on these machines: a stand-in records what the trainer passes it.
    import spenv.agents.vllm as vllm_mod

    seen = {}

    class Recorder:
        def __init__(self, model, **kwargs):
            seen.update(kwargs, model=model)

    monkeypatch.setattr(vllm_mod, "VLLMAgent", Recorder)
    cfg = load_config(RECIPES / "spiral_qwen3_4b.yaml")
    make_rollout_agent(None, None, cfg)
    assert seen["prompt_style"] == "reasoning" == cfg.generation.prompt_style
    assert seen["model"] == cfg.model.path


def test_lora_adapters_on_a_bf16_base_are_float32(tiny):
    pytest.importorskip("peft")
    from spenv.agents.train.config import LoraConfig, ModelConfig
    from spenv.agents.train.policy import load_model

    model, _ = load_model(ModelConfig(path=tiny, dtype="bfloat16", lora=LoraConfig(r=4)), tiny)
    trained = {p.dtype for p in model.parameters() if p.requires_grad}
    frozen = {p.dtype for p in model.parameters() if not p.requires_grad}
    assert trained == {torch.float32} and frozen == {torch.bfloat16}
