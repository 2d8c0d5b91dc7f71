"""The GPU check: rollout speed, recipe training steps, one GRPOTrainer step (results as JSON).

    python benchmarks/gpu/run.py --out gpu.json           # on a CUDA machine, <= 10 minutes
    python benchmarks/gpu/run.py --tiny --out tiny.json   # the same code, tiny shapes, CPU

No download: every model is random-init from a config of the real shapes, and the tokenizer is
spenv's tiny byte-level BPE (1,024 tokens; the models keep their real 151,936-row embeddings, so
generated ids past the tokenizer's vocabulary decode to nothing and the games record invalid
moves, which changes no timing). Three parts, each recorded even when another fails:

1. ``rollout``: Kuhn poker self-play with :class:`spenv.agents.hf.HFAgent` on a
   Qwen3-0.6B-shaped model (bf16), against raw ``model.generate`` on the **same prompt
   batches** (recorded from the spenv run) and the same sampling settings. Interleaved rounds;
   per round the ratio of generated tokens per second (spenv / raw); median and min-max.
   The goal is a ratio of at least 0.8.
2. ``train_step``: one optimizer step of the ``spiral_qwen3_4b`` and ``spiral_qwen3_4b_lora``
   recipes (``agents/train/recipes``) with random-init Qwen3-4B weights, through
   :meth:`spenv.agents.train.Trainer.update` on synthetic samples of the recipes' lengths
   (one micro-batch per sample group): step time and peak GPU memory.
3. ``grpo_trl``: one ``GRPOTrainer`` step through :mod:`spenv.integrations.trl` (Kuhn poker
   self-play on the 0.6B-shaped model). The GPU image has no TRL: bring its wheel
   (``pip download trl==1.16.0 --no-deps -d benchmarks/gpu/wheels``); the script installs wheels
   found there into a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def qwen3_shape(hidden: int, intermediate: int, layers: int, heads: int) -> dict[str, Any]:
    """A Qwen3 config's shape fields (8 KV heads of 128 dims, tied embeddings, as published)."""
    return dict(
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=8,
        head_dim=128,
        vocab_size=151936,
        tie_word_embeddings=True,
        max_position_embeddings=40960,
        rope_theta=1000000.0,
    )


#: Qwen3-0.6B and Qwen3-4B shapes (their published configs).
QWEN3_06B = qwen3_shape(1024, 3072, 28, 16)
QWEN3_4B = qwen3_shape(2560, 9728, 36, 32)
#: Tiny stand-ins (same architecture) for ``--tiny``.
TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=1024,
    tie_word_embeddings=True,
    max_position_embeddings=4096,
)


#: Random weights never write a legal move: with retries every game lasts several ticks of
#: shrinking batches (invalid attempts are recorded and re-asked), as a real rollout's do.
GAME_OPTIONS = {"hands": 3, "retries": 3}


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def write_model(folder: Path, shape: dict[str, Any], tokenizer_dir: Path, dtype: str) -> str:
    """A random-init Qwen3 model of ``shape`` saved with spenv's tiny tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen3Config

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    cfg = Qwen3Config(
        **shape,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
        dtype=dtype,
    )
    # Built in its dtype, on the GPU when there is one: random init of 4B parameters on the
    # CPU in float32 would take minutes.
    where = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    with torch.device(where):
        model = AutoModelForCausalLM.from_config(cfg, dtype=getattr(torch, dtype))
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    del model
    gc.collect()
    return str(folder)


# ---------------------------------------------------------------------------- 1. rollouts
class _Recording:
    """Wraps an HFAgent's ``generate_ids`` to keep each batch of prompt ids and count tokens."""

    def __init__(self, agent: Any) -> None:
        self.batches: list[list[list[int]]] = []
        self.tokens = 0
        inner = agent.generate_ids

        def generate_ids(prompts: Any) -> Any:
            out = inner(prompts)
            self.batches.append([list(p) for p in prompts])
            self.tokens += sum(len(c) for c, *_ in out)
            return out

        agent.generate_ids = generate_ids


def bench_rollout(
    model_dir: str, device: str, games: int, max_new: int, rounds: int
) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    from spenv.agents.hf import HFAgent
    from spenv.rollout import run_games

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    pad = tok.pad_token_id

    def spenv_round(seed: int) -> tuple[float, int, list[list[list[int]]]]:
        agent = HFAgent(
            model=model, tokenizer=tok, max_new_tokens=max_new, prompt_style="plain", seed=seed
        )
        rec = _Recording(agent)
        _sync(device)
        t = time.perf_counter()
        run_games(
            "KuhnPoker-v1",
            [agent, agent],
            games=games,
            seed=seed,
            batch_size=games,
            env_options=GAME_OPTIONS,
        )
        _sync(device)
        return time.perf_counter() - t, rec.tokens, rec.batches

    def raw_round(batches: list[list[list[int]]], seed: int) -> tuple[float, int]:
        torch.manual_seed(seed)
        tokens = 0
        _sync(device)
        t = time.perf_counter()
        with torch.inference_mode():
            for prompts in batches:
                width = max(len(p) for p in prompts)
                ids = torch.full((len(prompts), width), pad, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for i, p in enumerate(prompts):
                    ids[i, width - len(p) :] = torch.tensor(p)
                    mask[i, width - len(p) :] = 1
                out = model.generate(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    do_sample=True,
                    temperature=1.0,
                    top_k=0,
                    top_p=1.0,
                    max_new_tokens=max_new,
                    pad_token_id=pad,
                    eos_token_id=tok.eos_token_id,
                )
                new = out[:, width:]
                done = (new == tok.eos_token_id).int().cumsum(1)
                # tokens up to and including the first EOS, as the spenv side counts them
                tokens += int(((done == 0) | ((done == 1) & (new == tok.eos_token_id))).sum())
        _sync(device)
        return time.perf_counter() - t, tokens

    _, _, first = spenv_round(10_000)  # warm-up: kernels, allocator
    raw_round(first, 10_000)
    rows = []
    for r in range(rounds):
        # The raw peer replays the prompt batches of this round's spenv run; which of the two
        # is timed first alternates between rounds.
        if r % 2 == 0:
            s_time, s_tok, batches = spenv_round(r)
            r_time, r_tok = raw_round(batches, r)
        else:
            _, _, batches = spenv_round(r)
            r_time, r_tok = raw_round(batches, r)
            s_time, s_tok, _ = spenv_round(r)  # the same seed: the same games and prompts
        s_rate, r_rate = s_tok / s_time, r_tok / r_time
        rows.append(
            {
                "spenv_tokens_per_s": s_rate,
                "raw_tokens_per_s": r_rate,
                "ratio": s_rate / r_rate,
                "batches": len(batches),
                "spenv_tokens": s_tok,
                "raw_tokens": r_tok,
            }
        )
    ratios = [x["ratio"] for x in rows]
    return {
        "games_per_round": games,
        "max_new_tokens": max_new,
        "rounds": rows,
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "goal": 0.8,
    }


def _free(device: str) -> None:
    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


# ---------------------------------------------------------------------------- 2. train steps
def bench_train_step(
    recipe: str, model_dir: str, device: str, prompt_len: int, completion_len: int, tiny: bool
) -> dict[str, Any]:
    import torch

    from spenv.agents.train import RECIPES, Trainer, load_config
    from spenv.agents.train.rollouts import Sample

    cfg = load_config(RECIPES / f"{recipe}.yaml")
    data = cfg.to_dict()
    data["model"]["path"] = model_dir
    data["device"] = device
    data["tensorboard"] = False
    data["out"] = tempfile.mkdtemp(prefix=f"spenv-gpu-{recipe}-")
    if tiny:
        data["model"]["dtype"] = "float32"
    cfg = load_config(data)
    _free(device)
    t0 = time.perf_counter()
    trainer = Trainer(cfg, quiet=True, agent_factory=lambda *a, **k: None)
    load_s = time.perf_counter() - t0
    mb = cfg.micro_batch_size
    n = 2 * mb  # two micro-batches: gradient accumulation is part of the step
    g = torch.Generator().manual_seed(0)
    vocab = int(trainer.model.config.vocab_size)
    samples = []
    for i in range(n):
        ids = torch.randint(0, vocab, (prompt_len + completion_len,), generator=g).tolist()
        samples.append(
            Sample(
                prompt_ids=ids[:prompt_len],
                completion_ids=ids[prompt_len:],
                ret=1.0 if i % 2 else -1.0,
                env_id="KuhnPoker-v1",
                role="player_0",
                seed=i,
                game=i,
                advantage=1.0 if i % 2 else -1.0,
            )
        )
    params = sum(p.numel() for p in trainer.model.parameters())
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    times = []
    for step in range(2):  # the first step allocates the optimizer state
        _sync(device)
        t = time.perf_counter()
        stats = trainer.update(samples, step)
        _sync(device)
        times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    out = {
        "recipe": recipe,
        "parameters": params,
        "trainable_parameters": trainable,
        "samples": n,
        "micro_batch_size": mb,
        "prompt_tokens": prompt_len,
        "completion_tokens": completion_len,
        "load_seconds": load_s,
        "first_step_seconds": times[0],
        "step_seconds": times[1],
        "peak_memory_gib": peak,
        "loss": float(stats.get("loss", float("nan"))),
        "gradient_checkpointing": cfg.model.gradient_checkpointing,
        "lora": cfg.model.lora is not None,
    }
    del trainer
    _free(device)
    return out


# ---------------------------------------------------------------------------- 3. GRPOTrainer
def _ensure_trl() -> str:
    """Import TRL, installing wheels from ``benchmarks/gpu/wheels`` first when it is missing."""
    try:
        import trl

        return trl.__version__
    except ImportError:
        pass
    wheels = sorted((HERE / "wheels").glob("*.whl"))
    if not wheels:
        raise ImportError("trl is not installed and benchmarks/gpu/wheels holds no wheel")
    target = tempfile.mkdtemp(prefix="spenv-trl-")
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-t", target]
    subprocess.run([*cmd, *map(str, wheels)], check=True, capture_output=True)
    sys.path.insert(0, target)
    import trl

    return trl.__version__


def bench_grpo(model_dir: str, device: str, out_dir: str, tiny: bool) -> dict[str, Any]:
    version = _ensure_trl()
    import torch

    from spenv.integrations.trl_train import load_trl_config, train

    cuda = device.startswith("cuda")
    cfg = load_trl_config(
        {
            "seed": 0,
            "out": out_dir,
            "envs": [{"id": "KuhnPoker-v1"}],
            "model": {"path": model_dir, "dtype": "bfloat16" if cuda else "float32"},
            "eval": {"agent_metrics": False},
            "rollout": {"batch_size": 256},
            "grpo": {
                "use_cpu": not cuda,
                "bf16": cuda,
                "max_steps": 1,
                "learning_rate": 1e-6,
                "num_generations": 8,
                "per_device_train_batch_size": 16 if tiny else 64,
                "max_completion_length": 3 if tiny else 16,
                "beta": 0.0,
                "gradient_checkpointing": cuda,
            },
        }
    )
    _free(device)
    t = time.perf_counter()
    result = train(cfg, quiet=True)
    seconds = time.perf_counter() - t
    log = [r for r in result.get("log", []) if "loss" in r]
    return {
        "trl": version,
        "steps": result.get("steps"),
        "seconds": seconds,
        "step_time": log[0].get("step_time") if log else None,
        "loss": log[0].get("loss") if log else None,
        "reward": log[0].get("reward") if log else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
    }


# ---------------------------------------------------------------------------- main
def _part(results: dict[str, Any], name: str, fn: Any, *args: Any) -> None:
    t = time.perf_counter()
    try:
        results[name] = fn(*args)
    except Exception as exc:  # record the failure, go on with the other parts
        results[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
    results[name]["wall_seconds"] = time.perf_counter() - t
    _free("cuda" if "cuda" in args else "cpu")  # the part's models are gone by now
    print(f"{name}: done in {results[name]['wall_seconds']:.1f}s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="tiny shapes on the CPU (< 1 minute)")
    p.add_argument("--out", default="gpu_results.json", help="JSON results file")
    p.add_argument("--parts", default="rollout,train_step,grpo_trl", help="comma-separated")
    p.add_argument("--rounds", type=int, default=None, help="rollout rounds (default 5; tiny 2)")
    args = p.parse_args(argv)
    import torch
    import transformers

    from spenv.agents.testing import tiny_model

    device = "cpu" if args.tiny else "cuda"
    if not args.tiny and not torch.cuda.is_available():
        print("no CUDA device: run with --tiny for the CPU dry run", file=sys.stderr)
        return 2
    if args.tiny:
        torch.set_num_threads(1)
    parts = [x for x in args.parts.split(",") if x]
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "mode": "tiny" if args.tiny else "gpu",
        "device": (
            torch.cuda.get_device_name(0)
            if device == "cuda"
            else f"CPU {platform.machine()}, {os.cpu_count()} cores"
        ),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }
    with tempfile.TemporaryDirectory(prefix="spenv-gpu-") as tmp:
        root = Path(tmp)
        tok_dir = Path(tiny_model(root / "tok", layers=1, hidden_size=32, heads=2, kv_heads=1))
        small = write_model(
            root / "qwen3_06b",
            TINY if args.tiny else QWEN3_06B,
            tok_dir,
            "float32" if args.tiny else "bfloat16",
        )
        if "rollout" in parts:
            games, max_new = (16, 4) if args.tiny else (256, 32)
            rounds = args.rounds or (2 if args.tiny else 5)
            _part(results, "rollout", bench_rollout, small, device, games, max_new, rounds)
        if "train_step" in parts:
            big = small
            if not args.tiny:
                big = write_model(root / "qwen3_4b", QWEN3_4B, tok_dir, "bfloat16")
            results["train_step"] = {}
            for recipe, (plen, clen) in {
                "spiral_qwen3_4b": (512, 4096),
                "spiral_qwen3_4b_lora": (512, 2048),
            }.items():
                if args.tiny:
                    plen, clen = 32, 16
                _part(
                    results["train_step"],
                    recipe,
                    bench_train_step,
                    recipe,
                    big,
                    device,
                    plen,
                    clen,
                    args.tiny,
                )
        if "grpo_trl" in parts:
            _part(results, "grpo_trl", bench_grpo, small, device, str(root / "grpo"), args.tiny)
    Path(args.out).write_text(json.dumps(results, indent=1, default=_jsonable), encoding="utf-8")
    print(json.dumps(_summary(results), indent=1))
    return 0


def _jsonable(x: Any) -> Any:
    return x if not isinstance(x, float) or math.isfinite(x) else None


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": results["mode"], "device": results["device"]}
    if "rollout" in results:
        r = results["rollout"]
        out["rollout_ratio"] = r.get("ratio_median", r.get("error"))
    for name, t in results.get("train_step", {}).items():
        out[name] = t.get("error") or {k: t[k] for k in ("step_seconds", "peak_memory_gib")}
    if "grpo_trl" in results:
        g = results["grpo_trl"]
        out["grpo_trl"] = g.get("error") or {k: g.get(k) for k in ("steps", "step_time", "loss")}
    return out


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
