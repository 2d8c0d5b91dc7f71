"""VLLMAgent: the clear error without vLLM here; a real run with a tiny model on a GPU.

Run on a machine with a CUDA GPU and ``pip install 'spenv[vllm]'``:
``pytest tests/agents/test_vllm.py``. Without them the engine tests skip, saying why.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

import spenv
from spenv.agents import make_agent
from spenv.agents.specs import AgentSpecError
from spenv.agents.vllm import VLLMAgent, VLLMUnavailable
from spenv.rollout import run_games

torch = pytest.importorskip("torch", reason="the vLLM tests need the train extra (torch)")

HAS_VLLM = importlib.util.find_spec("vllm") is not None
HAS_GPU = torch.cuda.is_available()


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here: the missing-vLLM error cannot show")
def test_missing_vllm_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VLLMUnavailable, match=r"pip install 'spenv\[vllm\]'"):
        VLLMAgent(str(tmp_path))
    with pytest.raises(AgentSpecError, match="vllm"):
        make_agent(f"vllm:{tmp_path},temperature=0.5")


def test_bad_options_fail_before_the_engine_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prompt_style"):
        VLLMAgent(str(tmp_path), prompt_style="fancy")
    with pytest.raises(ValueError, match="top_p"):
        VLLMAgent(str(tmp_path), top_p=2.0)
    with pytest.raises(ValueError, match="needs a model"):
        VLLMAgent()


needs_engine = pytest.mark.skipif(
    not (HAS_VLLM and HAS_GPU),
    reason=(
        "VLLMAgent engine tests need vLLM and a CUDA GPU "
        f"(vllm installed: {HAS_VLLM}, CUDA available: {HAS_GPU})"
    ),
)


@pytest.fixture(scope="module")
def vllm_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    from spenv.agents.testing import tiny_model

    # vLLM's attention kernels want a head size of 64 or more.
    return tiny_model(
        tmp_path_factory.mktemp("vllm") / "tiny", hidden_size=256, heads=4, kv_heads=2
    )


@pytest.fixture(scope="module")
def agent(vllm_model: str) -> VLLMAgent:
    return VLLMAgent(
        vllm_model,
        max_new_tokens=16,
        seed=0,
        gpu_memory_utilization=0.3,
        max_model_len=4096,
        enforce_eager=True,
        dtype="float32",
    )


@needs_engine
def test_plays_kuhn_poker_with_ids_and_raw_logprobs(agent: VLLMAgent, vllm_model: str) -> None:
    eps = run_games("KuhnPoker-v1", [agent, "nash"], games=8, seed=0)
    assert len(eps) == 8 and all(e.status != "error" for e in eps)
    turns = [t for e in eps for t in e.turns if t.extra.get("completion_ids")]
    assert turns
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(vllm_model).to("cuda")
    for t in turns[:4]:
        prompt, comp, lps = t.extra["prompt_ids"], t.extra["completion_ids"], t.extra["logprobs"]
        assert len(comp) == len(lps) and all(not math.isnan(x) for x in lps)
        with torch.no_grad():
            logits = model(torch.tensor([prompt + comp], device="cuda")).logits[0].float()
        ref = torch.log_softmax(logits, -1)[
            torch.arange(len(prompt) - 1, len(prompt) + len(comp) - 1), torch.tensor(comp)
        ]
        if t.extra.get("logprobs_mode") == "raw_logprobs":
            assert torch.allclose(ref.cpu(), torch.tensor(lps), atol=2e-2)


@needs_engine
def test_greedy_is_batch_independent(vllm_model: str, agent: VLLMAgent) -> None:
    greedy = VLLMAgent(model=agent.llm, greedy=True, max_new_tokens=12)
    envs = [spenv.make("KuhnPoker-v1") for _ in range(4)]
    obs = []
    for i, env in enumerate(envs):
        env.reset(seed=i)
        obs.append(env.infos[env.agent_selection]["observation"])
    batched = greedy.act_batch(obs)
    for o, b in zip(obs, batched, strict=True):
        assert greedy.act(o).meta["completion_ids"] == b.meta["completion_ids"]


@needs_engine
def test_seeded_sampling_repeats(agent: VLLMAgent) -> None:
    env = spenv.make("TicTacToe-v1")
    env.reset(seed=0)
    obs = env.infos[env.agent_selection]["observation"]
    a = VLLMAgent(model=agent.llm, seed=5, max_new_tokens=8).act_batch([obs] * 3)
    b = VLLMAgent(model=agent.llm, seed=5, max_new_tokens=8).act_batch([obs] * 3)
    assert [r.meta["completion_ids"] for r in a] == [r.meta["completion_ids"] for r in b]
