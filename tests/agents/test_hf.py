"""HFAgent with a real tiny model: every game end to end, log-probs, batching, seeds, stops,
context guard, a shared live model, specs and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import spenv
from spenv.agents import Reply, make_agent
from spenv.agents.hf import HFAgent
from spenv.agents.prompting import extract_move
from spenv.apps.cli import main
from spenv.episode import read_episodes
from spenv.observation import Observation
from spenv.rollout import run_games

torch = pytest.importorskip("torch", reason="HFAgent needs the train extra (torch)")
transformers = pytest.importorskip("transformers", reason="HFAgent needs the train extra")
AutoModelForCausalLM = transformers.AutoModelForCausalLM
AutoTokenizer = transformers.AutoTokenizer


def first_obs(env_id: str, seed: int = 0) -> Observation:
    env = spenv.make(env_id)
    env.reset(seed=seed)
    return env.infos[env.agent_selection]["observation"]


def kuhn_observations(n: int) -> list[Observation]:
    """Distinct Kuhn poker prompts (different cards and histories)."""
    out: list[Observation] = []
    seed = 0
    while len(out) < n:
        env = spenv.make("KuhnPoker-v1")
        env.reset(seed=seed)
        out.append(env.infos[env.agent_selection]["observation"])
        if len(out) < n:
            env.step("[bet]" if seed % 2 else "[check]")
            out.append(env.infos[env.agent_selection]["observation"])
        seed += 1
    return out[:n]


@pytest.fixture(scope="module")
def agent(tiny_path: str) -> HFAgent:
    return HFAgent(tiny_path, max_new_tokens=6, seed=0)


@pytest.mark.parametrize("env_id", spenv.list_envs())
def test_plays_every_registered_game(tiny_path: str, env_id: str, tmp_path: Path) -> None:
    agent = HFAgent(tiny_path, max_new_tokens=6, seed=1)
    seats = len(spenv.spec(env_id).roles)
    out = tmp_path / "eps.jsonl"
    eps = run_games(env_id, [agent] * seats, games=2, seed=0, out=out)
    assert len(eps) == 2
    assert all(e.status != "error" for e in eps), [e.error for e in eps]
    stored = list(read_episodes(out))
    assert len(stored) == 2
    for ep in stored:
        assert ep.turns
        for t in ep.turns:
            if t.error and t.error.startswith("agent failed"):
                pytest.fail(f"the agent crashed: {t.error}")
            extra = t.extra
            assert extra["completion_ids"] and len(extra["logprobs"]) == len(
                extra["completion_ids"]
            )
            assert all(lp <= 0 for lp in extra["logprobs"])
            assert extra["finish_reason"] in ("stop", "length")


def test_reply_meta_and_raw_logprobs_match_a_forward_pass(tiny_path: str) -> None:
    agent = HFAgent(tiny_path, max_new_tokens=10, seed=3, temperature=0.7, top_k=50)
    obs = kuhn_observations(4)
    replies = agent.act_batch(obs)
    model = AutoModelForCausalLM.from_pretrained(tiny_path)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    for o, r in zip(obs, replies, strict=True):
        assert isinstance(r, Reply)
        prompt, comp = r.meta["prompt_ids"], r.meta["completion_ids"]
        # The prompt is the chat template applied to the game's messages.
        text = tok.decode(prompt)
        assert o.user in text and "<|im_start|>assistant" in text
        assert len(comp) == len(r.meta["logprobs"]) <= 10
        with torch.no_grad():
            logits = model(torch.tensor([prompt + comp])).logits[0]
        expected = torch.log_softmax(logits.float(), -1)[
            torch.arange(len(prompt) - 1, len(prompt) + len(comp) - 1), torch.tensor(comp)
        ]
        assert torch.allclose(expected, torch.tensor(r.meta["logprobs"]), atol=1e-4)
        assert str(r) == tok.decode(comp, skip_special_tokens=True)


def test_sampling_logprobs_follow_the_processed_distribution(tiny_path: str) -> None:
    obs = kuhn_observations(2)
    plain = HFAgent(tiny_path, max_new_tokens=5, seed=0, sampling_logprobs=True)
    for r in plain.act_batch(obs):  # temperature 1, no filter: the two agree
        assert r.meta["sampling_logprobs"] == pytest.approx(r.meta["logprobs"], abs=1e-5)
    sharp = HFAgent(tiny_path, max_new_tokens=5, seed=0, temperature=0.3, sampling_logprobs=True)
    for r in sharp.act_batch(obs):  # a low temperature makes sampled tokens more likely
        assert sum(r.meta["sampling_logprobs"]) > sum(r.meta["logprobs"])


def test_greedy_batched_equals_unbatched(tiny_path: str) -> None:
    agent = HFAgent(tiny_path, max_new_tokens=12, greedy=True)
    obs = [*kuhn_observations(6), first_obs("TicTacToe-v1"), first_obs("Taboo-v1")]
    batched = agent.act_batch(obs)
    for o, b in zip(obs, batched, strict=True):
        single = agent.act(o)
        assert single.meta["completion_ids"] == b.meta["completion_ids"]
        assert str(single) == str(b)
        assert single.meta["logprobs"] == pytest.approx(b.meta["logprobs"], abs=1e-4)


def test_seed_makes_sampling_reproducible(tiny_path: str) -> None:
    obs = kuhn_observations(3)
    a = [
        r.meta["completion_ids"]
        for r in HFAgent(tiny_path, max_new_tokens=8, seed=7).act_batch(obs)
    ]
    b = [
        r.meta["completion_ids"]
        for r in HFAgent(tiny_path, max_new_tokens=8, seed=7).act_batch(obs)
    ]
    c = [
        r.meta["completion_ids"]
        for r in HFAgent(tiny_path, max_new_tokens=8, seed=8).act_batch(obs)
    ]
    assert a == b
    assert a != c
    # torch's own random state is left alone
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    HFAgent(tiny_path, max_new_tokens=4, seed=1).act(obs[0])
    assert torch.equal(torch.rand(3), expected)


def test_stop_strings_cut_the_answer(tiny_path: str) -> None:
    obs = first_obs("KuhnPoker-v1")
    free = HFAgent(tiny_path, max_new_tokens=16, greedy=True).act(obs)
    ids = free.meta["completion_ids"]
    tok = AutoTokenizer.from_pretrained(tiny_path)
    stop = tok.decode(ids[3:5])  # text the model writes after its third token
    assert stop.strip()
    cut = HFAgent(tiny_path, max_new_tokens=16, greedy=True, stop=[stop]).act(obs)
    assert cut.meta["finish_reason"] == "stop"
    assert stop not in str(cut)
    assert str(free).startswith(str(cut))
    assert cut.meta["completion_ids"] == ids[: len(cut.meta["completion_ids"])]
    assert len(cut.meta["completion_ids"]) <= 5
    assert len(cut.meta["logprobs"]) == len(cut.meta["completion_ids"])
    assert cut.meta["raw_text"].startswith(str(cut))


def test_keep_stop_keeps_the_stop_string_that_ended_the_answer(tiny_path: str) -> None:
    obs = first_obs("KuhnPoker-v1")
    free = HFAgent(tiny_path, max_new_tokens=16, greedy=True).act(obs)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    stop = tok.decode(free.meta["completion_ids"][3:5])
    cut = HFAgent(tiny_path, max_new_tokens=16, greedy=True, stop=[stop]).act(obs)
    kept = HFAgent(tiny_path, max_new_tokens=16, greedy=True, stop=[stop], keep_stop=True).act(obs)
    assert str(kept) == str(cut) + stop
    assert kept.meta["completion_ids"] == cut.meta["completion_ids"]
    assert str(free).startswith(str(kept))


def test_max_new_tokens_bounds_the_answer(tiny_path: str) -> None:
    r = HFAgent(tiny_path, max_new_tokens=3, seed=0).act(first_obs("Debate-v1"))
    assert len(r.meta["completion_ids"]) <= 3
    if len(r.meta["completion_ids"]) == 3:
        assert r.meta["finish_reason"] in ("length", "stop")


def test_context_guard_drops_oldest_turns_instead_of_failing(tiny_path: str) -> None:
    agent = HFAgent(tiny_path, max_new_tokens=4, seed=0, history="messages", max_context=400)
    eps = run_games("Taboo-v1", [agent, agent], games=2, seed=0)
    assert all(e.status != "error" for e in eps)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    prompts = [t.extra["prompt_ids"] for e in eps for t in e.turns]
    assert all(len(p) <= 400 for p in prompts)
    dropped = [t for e in eps for t in e.turns if t.extra.get("context_dropped")]
    assert dropped, "the long Taboo conversations should have hit the 400-token limit"
    text = tok.decode(dropped[-1].extra["prompt_ids"])
    assert "omitted to fit the context" in text
    # The newest observation always survives.
    assert dropped[-1].observation["user"].splitlines()[-1] in text


def test_history_messages_holds_earlier_turns(tiny_path: str) -> None:
    agent = HFAgent(tiny_path, max_new_tokens=4, seed=0, history="messages")
    eps = run_games("Taboo-v1", [agent, agent], games=1, seed=0)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    turns = [t for t in eps[0].turns if t.agent == "attacker"]
    assert len(turns) >= 2
    second = tok.decode(turns[1].extra["prompt_ids"])
    # The first observation and the agent's own first answer are earlier chat turns.
    assert second.count("<|im_start|>user") == 2
    assert second.count("<|im_start|>assistant") == 2
    assert turns[0].observation["user"] in second
    assert len(agent.conversations) == 0  # the engine told the agent both games ended


def test_shared_live_model_keeps_its_mode(tiny_path: str) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_path)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    model.train()
    agent = HFAgent(model=model, tokenizer=tok, max_new_tokens=4, seed=0)
    assert agent.model is model and agent.tokenizer is tok
    r = agent.act(first_obs("KuhnPoker-v1"))
    assert r.meta["completion_ids"]
    assert model.training
    with pytest.raises(ValueError, match="tokenizer"):
        HFAgent(model=model)


def test_without_chat_template_a_plain_layout_is_used(tiny_path: str) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_path)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    tok.chat_template = None
    agent = HFAgent(model=model, tokenizer=tok, max_new_tokens=3, seed=0)
    obs = first_obs("KuhnPoker-v1")
    text = tok.decode(agent.act(obs).meta["prompt_ids"])
    assert text.startswith("System: ") and text.endswith("Assistant:")
    assert obs.user in text


def test_reasoning_style_extracts_the_final_move(tiny_path: str) -> None:
    agent = HFAgent(tiny_path, max_new_tokens=4, seed=0, prompt_style="reasoning")
    obs = first_obs("KuhnPoker-v1")
    text = AutoTokenizer.from_pretrained(tiny_path).decode(agent.act(obs).meta["prompt_ids"])
    assert "<think>" in text and "[check]" in text
    assert agent.extract
    env = spenv.make("KuhnPoker-v1")
    env.reset(seed=0)
    # What the agent hands the game for a typical reasoning answer:
    move = extract_move("<think>K is strong, [check] is weak</think> \\boxed{Bet}", obs)
    assert move == "[bet]"
    env.step(move)
    assert env.episode().turns[0].valid


def test_bad_options_are_refused(tiny_path: str) -> None:
    with pytest.raises(ValueError, match="prompt_style"):
        HFAgent(tiny_path, prompt_style="fancy")
    with pytest.raises(ValueError, match="history"):
        HFAgent(tiny_path, history="all")
    with pytest.raises(ValueError, match="top_p"):
        HFAgent(tiny_path, top_p=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        HFAgent(tiny_path, max_new_tokens=0)
    with pytest.raises(ValueError, match="dtype"):
        HFAgent(tiny_path, dtype="float13")
    with pytest.raises(OSError):
        HFAgent(str(Path(tiny_path) / "missing"))


def test_spec_builds_the_agent_with_parameters(tiny_path: str) -> None:
    agent = make_agent(f"hf:{tiny_path},temperature=0.5,max_new_tokens=7,greedy=true", seed=4)
    assert isinstance(agent, HFAgent)
    assert agent.temperature == 0.5 and agent.max_new_tokens == 7 and agent.greedy
    assert agent.sampling_params()["seed"] == 4


def test_cli_play_with_hf_spec(tiny_path: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "kuhn.jsonl"
    rc = main(
        [
            "play",
            "KuhnPoker-v1",
            "--agents",
            f"hf:{tiny_path},max_new_tokens=4,nash",
            "--games",
            "100",
            "--seed",
            "0",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    eps = list(read_episodes(out))
    assert len(eps) == 100
    label = f"hf:{tiny_path},max_new_tokens=4"
    assert {p for e in eps for p in e.players.values()} == {label, "nash"}
    llm_turns = [t for e in eps for t in e.turns if e.players[t.agent] == label]
    assert llm_turns and all(len(t.extra["completion_ids"]) <= 4 for t in llm_turns)
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
    assert meta["agents"] == [label, "nash"]
    assert "KuhnPoker-v1: 100 games" in capsys.readouterr().out


def test_prefix_cache_changes_nothing_but_the_work(tiny_path: str) -> None:
    obs = kuhn_observations(8)
    plain = HFAgent(tiny_path, max_new_tokens=10, greedy=True, prefix_cache=False)
    cached = HFAgent(tiny_path, max_new_tokens=10, greedy=True)
    a, b = plain.act_batch(obs), cached.act_batch(obs)
    assert len(cached._prefixes) == 1  # the chat header and rules the batch shares
    (prefix,) = cached._prefixes
    assert len(prefix) >= 50 and all(r.meta["prompt_ids"][: len(prefix)] == list(prefix) for r in b)
    for x, y in zip(a, b, strict=True):
        assert x.meta["prompt_ids"] == y.meta["prompt_ids"]
        assert x.meta["completion_ids"] == y.meta["completion_ids"]
        assert x.meta["logprobs"] == pytest.approx(y.meta["logprobs"], abs=1e-4)
    # A single later prompt that extends the cached prefix reuses it, with the same answer.
    assert cached.act(obs[3]).meta["completion_ids"] == a[3].meta["completion_ids"]
    # Changing the weights in place (an optimizer step) drops the cache: it is recomputed.
    old = cached._prefixes[prefix]
    with torch.no_grad():
        next(cached.model.parameters()).add_(0.01)
    cached.act_batch(obs)
    assert cached._prefixes[prefix] is not old
    assert not torch.equal(cached._prefixes[prefix][0][0], old[0][0])
