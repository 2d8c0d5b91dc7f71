"""``VLLMAgent``: a Hugging Face model served by vLLM's offline engine, as a spenv agent.

The same interface and prompting as :class:`~spenv.agents.hf.HFAgent` (prompt styles, history
modes, context guard, move extraction), with vLLM's continuous batching and paged attention for
GPU throughput: each tick's decisions go to one ``LLM.generate`` call as token-id prompts, so the
prompt ids in the episode are exactly what the engine saw.

Each answer is a :class:`~spenv.agents.Reply` with ``prompt_ids``, ``completion_ids``,
``logprobs`` (one per completion token), ``finish_reason`` and ``raw_text`` when the move differs
from the generated text. The engine is built with ``logprobs_mode="raw_logprobs"``, so the
log-probs are those of the model's raw distribution (before temperature, top-k and top-p), as
with ``HFAgent``; with a vLLM too old to have that option (or an ``LLM`` passed in) the engine's
default applies, and ``meta["logprobs_mode"]`` says which.

Sampling is reproducible: each request gets its own seed, drawn from the agent's generator
(``seed``), so an answer does not depend on the other requests of its batch.

Needs ``pip install spenv[vllm]`` and a GPU that vLLM supports; the import happens when the agent
is built, and a missing vLLM is reported with what to install.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from spenv.agents.base import Reply
from spenv.agents.prompting import ChatPrompting, check_style
from spenv.observation import Observation


class VLLMUnavailable(ImportError):
    """vLLM is not installed (or cannot be imported here)."""


def import_vllm() -> Any:
    """Import vLLM, or raise :class:`VLLMUnavailable` saying how to get it."""
    try:
        import vllm
    except ImportError as exc:
        raise VLLMUnavailable(
            "VLLMAgent needs vLLM: pip install 'spenv[vllm]' (it needs a CUDA GPU); "
            f"importing vllm failed: {exc}"
        ) from exc
    return vllm


class VLLMAgent(ChatPrompting):
    """A model run by ``vllm.LLM`` that plays spenv games (see the module docstring).

    Parameters:
        model: a local path or hub id (a new engine is built), or a ``vllm.LLM`` to share.
        name, temperature, top_p, top_k, greedy, max_new_tokens, stop, keep_stop, seed,
        prompt_style, history, max_context, extract: as for :class:`~spenv.agents.hf.HFAgent`.
        dtype: the engine's dtype (default ``"auto"``: the checkpoint's, bf16 for fp32 models).
        gpu_memory_utilization, max_model_len, tensor_parallel_size, enforce_eager: passed to
            ``vllm.LLM``.
        engine_options: any other ``vllm.LLM`` keyword arguments.
        trust_remote_code: passed to the engine.
    """

    def __init__(
        self,
        model: Any = None,
        *,
        path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        top_k: int = 0,
        greedy: bool = False,
        max_new_tokens: int = 256,
        stop: str | Sequence[str] | None = None,
        keep_stop: bool = False,
        seed: int | None = None,
        prompt_style: str = "system",
        history: str = "transcript",
        max_context: int | None = None,
        extract: bool | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        tensor_parallel_size: int = 1,
        enforce_eager: bool = False,
        engine_options: dict[str, Any] | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        from spenv.agents.hf import check_sampling

        if path is not None:
            if model is not None:
                raise ValueError("give the model as `model` or `path`, not both")
            model = path
        if model is None:
            raise ValueError("VLLMAgent needs a model: a path, a hub id or a vllm.LLM")
        check_style(prompt_style, history)
        greedy = check_sampling(temperature, top_p, top_k, max_new_tokens, greedy)
        vllm = import_vllm()
        self._vllm = vllm
        self.logprobs_mode = "engine default"
        if isinstance(model, str | os.PathLike):
            source = str(model)
            options: dict[str, Any] = {
                "model": source,
                "dtype": dtype,
                "gpu_memory_utilization": gpu_memory_utilization,
                "tensor_parallel_size": tensor_parallel_size,
                "enforce_eager": enforce_eager,
                "trust_remote_code": trust_remote_code,
            }
            if max_model_len is not None:
                options["max_model_len"] = max_model_len
            if seed is not None:
                options["seed"] = int(seed)
            options.update(engine_options or {})
            try:
                self.llm = vllm.LLM(**{"logprobs_mode": "raw_logprobs", **options})
                self.logprobs_mode = options.get("logprobs_mode", "raw_logprobs")
            except TypeError as exc:
                if "logprobs_mode" not in str(exc):
                    raise
                self.llm = vllm.LLM(**options)  # an older vLLM without the option
        else:
            self.llm = model
            config = getattr(getattr(model, "llm_engine", None), "model_config", None)
            source = str(getattr(config, "model", "") or type(model).__name__)
        self.tokenizer = self.llm.get_tokenizer()
        self.source = source
        self.name = name or f"vllm:{source}"
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.top_k = int(top_k)
        self.greedy = greedy
        self.max_new_tokens = int(max_new_tokens)
        self._seed = seed
        self.rng = np.random.default_rng(seed)
        if max_context is None:
            context = _engine_context(self.llm)
            max_context = max(16, context - self.max_new_tokens) if context else 1 << 30
        self._init_prompting(
            prompt_style=prompt_style,
            history=history,
            max_context=max_context,
            extract=extract,
            stop=[stop] if isinstance(stop, str) else list(stop or []),
            keep_stop=keep_stop,
        )

    def sampling_params(self) -> dict[str, Any]:
        """The sampling parameters, as recorded in run metadata."""
        return {**super().sampling_params(), "logprobs_mode": self.logprobs_mode}

    def _params(self) -> Any:
        """One request's ``SamplingParams`` (its own seed from the agent's generator)."""
        kwargs: dict[str, Any] = {
            "max_tokens": self.max_new_tokens,
            "logprobs": 0,  # only the sampled token's log-prob
            "seed": int(self.rng.integers(0, 2**31 - 1)),
        }
        if self.greedy:
            kwargs["temperature"] = 0.0
        else:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
            if self.top_k > 0:  # left out when off: vLLM versions spell "off" differently
                kwargs["top_k"] = self.top_k
        if self.stop:
            kwargs["stop"] = list(self.stop)
            kwargs["include_stop_str_in_output"] = self.keep_stop
        return self._vllm.SamplingParams(**kwargs)

    def act(self, obs: Observation) -> Reply:
        """Answer one decision."""
        return self.act_batch([obs])[0]

    def act_batch(
        self, observations: Sequence[Observation], keys: Sequence[Hashable] | None = None
    ) -> list[Reply]:
        """Answer every decision with one ``LLM.generate`` call."""
        observations = list(observations)
        if not observations:
            return []
        keys = self.resolve_keys(observations, keys)
        prompts = self.prompt_ids_batch(observations, keys)
        requests = [{"prompt_token_ids": ids} for ids, _ in prompts]
        params = [self._params() for _ in prompts]
        outputs = self.llm.generate(requests, sampling_params=params, use_tqdm=False)
        replies = [
            self._reply(obs, ids, dropped, out)
            for obs, (ids, dropped), out in zip(observations, prompts, outputs, strict=True)
        ]
        self.remember(observations, keys, replies)
        return replies

    def _reply(self, obs: Observation, prompt: list[int], dropped: int, output: Any) -> Reply:
        completion = output.outputs[0]
        ids = [int(t) for t in completion.token_ids]
        logprobs: list[float] = []
        for t, entry in zip(ids, completion.logprobs or [], strict=False):
            lp = entry.get(t) if hasattr(entry, "get") else None
            logprobs.append(float(lp.logprob) if lp is not None else float("nan"))
        full = completion.text
        answer = self.finish_text(full, obs)
        reason = completion.finish_reason or "length"
        meta: dict[str, Any] = {
            "prompt_ids": list(prompt),
            "completion_ids": ids,
            "logprobs": logprobs,
            "finish_reason": reason,
            "logprobs_mode": self.logprobs_mode,
        }
        if answer != full:
            meta["raw_text"] = full
        if dropped:
            meta["context_dropped"] = dropped
        return Reply(answer, **meta)

    def __repr__(self) -> str:
        return f"VLLMAgent(name={self.name!r})"


def _engine_context(llm: Any) -> int | None:
    config = getattr(getattr(llm, "llm_engine", None), "model_config", None)
    value = getattr(config, "max_model_len", None)
    return int(value) if isinstance(value, int) and value > 0 else None
