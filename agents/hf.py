"""``HFAgent``: a local Hugging Face causal language model as a spenv agent.

The agent renders each observation as chat messages (:mod:`spenv.agents.prompting`), applies the
tokenizer's chat template (or a plain ``System: / User: / Assistant:`` layout when the tokenizer
has none), and generates all pending decisions of a tick in one left-padded batch
(:meth:`HFAgent.act_batch`). Each answer is a :class:`~spenv.agents.Reply` whose ``meta`` holds
what a trainer needs, stored by the rollout engine in the episode's turns:

- ``prompt_ids``: the prompt's token ids (no padding);
- ``completion_ids``: the sampled token ids, up to and including the token that ended the
  answer (the EOS token, or the token that completed a stop string);
- ``logprobs``: for each completion token, its log-probability under the model's **raw**
  distribution: the softmax of the unprocessed logits (temperature 1, no top-k/top-p
  filtering), which is what policy-gradient trainers need. Sampling itself uses the processed
  distribution (temperature, top-k, top-p); ``sampling_logprobs=True`` adds
  ``sampling_logprobs``, the log-probabilities under that distribution;
- ``finish_reason``: ``"stop"`` (EOS or a stop string) or ``"length"`` (``max_new_tokens``);
- ``raw_text``: the whole generated text, when the move handed to the game differs from it
  (stop string cut off, reasoning dropped, ``\\boxed{}`` answer mapped to the legal move).

Sampling is reproducible: the agent's ``seed`` starts its own generator, which draws the torch
seed of every generation call (torch's global random state is saved and restored around it), so
the same sequence of calls gives the same answers. With ``greedy=True`` an answer does not depend
on the other prompts of its batch (up to floating-point noise of padded matrix products).

Prefix cache: every prompt of a game starts with the same chat-template header and rules, often
hundreds of tokens. The agent computes the keys and values of the prefix a batch shares once
(a batch of one), copies them into the batch's cache and feeds the model only the rest of each
prompt; later batches that extend a cached prefix reuse it (up to 8 prefixes are kept, and all
are dropped when the weights change in place, as an optimizer step does). For a batch with
nothing in common, or ``prefix_cache=False``, prompts are left-padded as usual.

Needs the ``train`` extra (torch, transformers). A trainer can share its live model:
``HFAgent(model=model, tokenizer=tokenizer)`` uses the objects as they are (no copy, no device
move) and restores the model's train/eval mode after each call.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np

from spenv.agents.base import Reply
from spenv.agents.prompting import ChatPrompting, check_style
from spenv.observation import Observation

#: Shared prompt prefixes shorter than this are not worth a cache entry (tokens).
MIN_PREFIX = 16
#: Prefixes kept (least recently used dropped first).
MAX_PREFIXES = 8


def _load_folder(source: str, torch_dtype: Any, device: str, trust_remote_code: bool) -> tuple:
    """``(model, tokenizer or its source)`` from a model folder or hub id, a trainer checkpoint
    (``state.json`` + ``weights.pt``: full weights or LoRA, merged) or a PEFT adapter folder
    (``adapter_config.json`` without ``config.json``: merged into its base model)."""
    from pathlib import Path

    folder = Path(source)
    if (folder / "state.json").is_file() and (folder / "weights.pt").is_file():
        from spenv.agents.train.export import load_checkpoint

        model, tok = load_checkpoint(folder, "cpu")
        return model.to(torch_dtype), tok
    if (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(source, dtype=torch_dtype)
        base = model.peft_config["default"].base_model_name_or_path
        tok = source if (folder / "tokenizer_config.json").is_file() else base
        return model.merge_and_unload(), tok
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=torch_dtype, trust_remote_code=trust_remote_code
    )
    return model, source


class HFAgent(ChatPrompting):
    """A Hugging Face causal LM that plays spenv games (see the module docstring).

    Parameters:
        model: a local path or hub id (loaded with ``AutoModelForCausalLM``), or a loaded model.
        tokenizer: a tokenizer object, or a path / hub id; default: the model's own.
        name: the agent's label in episodes (default ``hf:<path>``).
        temperature, top_p, top_k: sampling parameters (``top_k=0`` means no top-k filter).
        greedy: take the most likely token instead of sampling.
        max_new_tokens: the most tokens one answer may take.
        stop: strings that end an answer (cut from the answer text).
        keep_stop: keep the stop string that ended the answer in its text (``stop="]"`` then
            yields ``[bet]``, not ``[bet``).
        seed: starts the agent's generator (reproducible sampling).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default: CUDA when available, else CPU.
            Ignored for a loaded model, which stays where it is.
        dtype: ``"bfloat16"``, ``"float16"``, ``"float32"`` or ``"auto"``; default bfloat16 on
            GPU, float32 on CPU.
        prompt_style: ``"plain"``, ``"system"``, ``"reasoning"`` or ``"bare"`` (see
            :mod:`spenv.agents.prompting`).
        history: ``"transcript"`` (one user turn per decision) or ``"messages"`` (a conversation
            per game and seat).
        max_context: the most prompt tokens; default: the model's context length minus
            ``max_new_tokens``. Longer prompts lose their oldest turns (never an error).
        batch_size: the most prompts in one generation call (longer batches are split).
        sampling_logprobs: also record log-probs under the processed sampling distribution.
        extract: post-process answers with :func:`~spenv.agents.prompting.extract_move`
            (default: only with ``prompt_style="reasoning"``).
        prefix_cache: compute the keys and values of the prompt prefix a batch shares (the
            chat template and the game's rules) once, and reuse them while the weights do not
            change (see the module docstring).
        trust_remote_code: passed to ``from_pretrained``.
    """

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
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
        device: str | None = None,
        dtype: str | None = None,
        prompt_style: str = "system",
        history: str = "transcript",
        max_context: int | None = None,
        batch_size: int | None = None,
        sampling_logprobs: bool = False,
        extract: bool | None = None,
        prefix_cache: bool = True,
        trust_remote_code: bool = False,
    ) -> None:
        import torch

        if path is not None:
            if model is not None:
                raise ValueError("give the model as `model` or `path`, not both")
            model = path
        if model is None:
            raise ValueError("HFAgent needs a model: a path, a hub id or a loaded model")
        check_style(prompt_style, history)
        greedy = check_sampling(temperature, top_p, top_k, max_new_tokens, greedy)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")

        if isinstance(model, str | os.PathLike):
            source = str(model)
            if device is None:
                device = "cuda" if torch.cuda.is_available() else "cpu"
            torch_dtype = _dtype(dtype, device)
            loaded, tok = _load_folder(source, torch_dtype, device, trust_remote_code)
            loaded.to(device)
            loaded.eval()
            self.model = loaded
            if tokenizer is None:
                tokenizer = tok
        else:
            source = (
                getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
            )
            self.model = model
            if tokenizer is None:
                raise ValueError(
                    "a loaded model needs its tokenizer: HFAgent(model=..., tokenizer=...)"
                )
        if isinstance(tokenizer, str | os.PathLike):
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(
                str(tokenizer), trust_remote_code=trust_remote_code
            )
        self.tokenizer = tokenizer
        self.source = source
        self.name = name or f"hf:{source}"
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.top_k = int(top_k)
        self.greedy = bool(greedy)
        self.max_new_tokens = int(max_new_tokens)
        self.batch_size = batch_size
        self.sampling_logprobs = sampling_logprobs
        self.prefix_cache = bool(prefix_cache)
        self._prefixes: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._prefix_version = -1
        self._seed = seed
        self.rng = np.random.default_rng(seed)

        eos = tokenizer.eos_token_id
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = eos if eos is not None else 0
        self._eos_ids = _eos_ids(self.model, eos)
        self._pad_id = int(pad)
        context = _context_length(self.model, tokenizer)
        if max_context is None:
            max_context = max(16, context - self.max_new_tokens) if context else 1 << 30
        self._init_prompting(
            prompt_style=prompt_style,
            history=history,
            max_context=max_context,
            extract=extract,
            stop=[stop] if isinstance(stop, str) else list(stop or []),
            keep_stop=keep_stop,
        )

    # ------------------------------------------------------------------ public API
    @property
    def device(self) -> Any:
        """The device of the model's parameters."""
        return next(self.model.parameters()).device

    def act(self, obs: Observation) -> Reply:
        """Answer one decision (a batch of one)."""
        return self.act_batch([obs])[0]

    def act_batch(
        self, observations: Sequence[Observation], keys: Sequence[Hashable] | None = None
    ) -> list[Reply]:
        """Answer every decision in one (or a few, with ``batch_size``) generation calls.

        ``keys`` (one per observation) name the game and seat of each decision, for the
        ``"messages"`` history mode; without them the env id and role stand in.
        """
        observations = list(observations)
        if not observations:
            return []
        keys = self.resolve_keys(observations, keys)
        prompts = self.prompt_ids_batch(observations, keys)
        step = self.batch_size or len(prompts)
        replies: list[Reply] = []
        for start in range(0, len(prompts), step):
            chunk = prompts[start : start + step]
            outs = self.generate_ids([p for p, _ in chunk])
            for (ids, dropped), (comp, lps, slps, reason), obs in zip(
                chunk, outs, observations[start : start + step], strict=True
            ):
                replies.append(self._reply(obs, ids, dropped, comp, lps, slps, reason))
        self.remember(observations, keys, replies)
        return replies

    # ------------------------------------------------------------------ generation
    def generate_ids(
        self, prompts: Sequence[Sequence[int]]
    ) -> list[tuple[list[int], list[float], list[float] | None, str]]:
        """Generate for token-id prompts in one batch (left-padded, or padded after the
        cached prefix they share).

        Returns, per prompt, (completion ids, raw log-probs, sampling log-probs or ``None``,
        finish reason). The completion ends at the first EOS token or completed stop string
        (included) or after ``max_new_tokens``.
        """
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        device = self.device
        prompts = [list(p) for p in prompts]
        prefix, layers = self._shared_prefix(prompts) if self.prefix_cache else ((), None)
        n = len(prefix)
        # [shared prefix][padding][rest of the prompt]: the padding sits after the cached prefix
        # (left padding when there is none); positions follow the attention mask, so every
        # token keeps the position it has in its own prompt.
        width = n + max(len(p) - n for p in prompts)
        input_ids = torch.full((len(prompts), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            if n:
                input_ids[i, :n] = torch.as_tensor(prefix, dtype=torch.long)
                mask[i, :n] = 1
            rest = p[n:]
            if rest:
                input_ids[i, width - len(rest) :] = torch.as_tensor(rest, dtype=torch.long)
                mask[i, width - len(rest) :] = 1
        input_ids, mask = input_ids.to(device), mask.to(device)

        recorder = _LogprobRecorder(self.sampling_logprobs)
        processors = LogitsProcessorList([recorder.raw])
        if not self.greedy:
            processors.extend(_warpers(self.temperature, self.top_k, self.top_p))
        if self.sampling_logprobs:
            processors.append(recorder.processed)
        config = GenerationConfig(
            do_sample=not self.greedy,
            max_new_tokens=self.max_new_tokens,
            eos_token_id=self._eos_ids or None,
            pad_token_id=self._pad_id,
            num_beams=1,
            use_cache=True,
        )
        if not self.greedy:  # the warpers above do the filtering; keep generate's own off
            config.temperature, config.top_k, config.top_p = 1.0, 0, 1.0
        kwargs: dict[str, Any] = {}
        if self.stop:
            config.stop_strings = list(self.stop)
            kwargs["tokenizer"] = self.tokenizer
        call_seed = int(self.rng.integers(0, 2**63 - 1))
        try:
            with self._generation_mode(), _seeded(call_seed, device):
                if layers is not None:
                    kwargs["past_key_values"] = self._batch_cache(layers, len(prompts))
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    generation_config=config,
                    logits_processor=processors,
                    **kwargs,
                )
        except Exception:
            if layers is None:
                raise
            # A model whose generate does not take a primed cache: go on without the cache.
            self.prefix_cache = False
            self._prefixes.clear()
            return self.generate_ids(prompts)
        sequences = out if isinstance(out, torch.Tensor) else out.sequences
        new = sequences[:, width:].tolist()
        raw, processed = recorder.finish(sequences)
        results = []
        for i, ids in enumerate(new):
            n, reason = self._cut(ids)
            lps = raw[i][:n] if n else []
            slps = processed[i][:n] if processed is not None else None
            results.append((ids[:n], lps, slps, reason))
        return results

    # ------------------------------------------------------------------ prefix cache
    def clear_prefix_cache(self) -> None:
        """Drop the cached prompt prefixes (done by itself when the weights change)."""
        self._prefixes.clear()

    def _weights_version(self) -> int:
        # In-place updates (optimizer steps, load_state_dict) bump each tensor's version.
        return sum(p._version for p in self.model.parameters())

    def _shared_prefix(self, prompts: list[list[int]]) -> tuple[tuple[int, ...], Any]:
        """The longest cached prefix every prompt extends, else the batch's common prefix
        (cached for later calls) when it is long enough; ``((), None)`` for none."""
        shortest = min(len(p) for p in prompts)
        if shortest <= MIN_PREFIX:
            return (), None
        version = self._weights_version()
        if version != self._prefix_version:
            self._prefixes.clear()
            self._prefix_version = version
        best: tuple[int, ...] = ()
        for key in self._prefixes:
            k = len(key)
            if len(best) < k < shortest and all(tuple(p[:k]) == key for p in prompts):
                best = key
        if best:
            self._prefixes.move_to_end(best)
            return best, self._prefixes[best]
        if len(prompts) < 2:
            return (), None
        first = prompts[0]
        k = shortest - 1  # every prompt keeps at least one token to feed the model
        for p in prompts[1:]:
            j = 0
            while j < k and p[j] == first[j]:
                j += 1
            k = j
        if k < MIN_PREFIX:
            return (), None
        key = tuple(first[:k])
        layers = self._prefix_layers(key)
        if layers is None:
            self.prefix_cache = False  # a cache layout this code does not handle: stop trying
            return (), None
        self._prefixes[key] = layers
        while len(self._prefixes) > MAX_PREFIXES:
            self._prefixes.popitem(last=False)
        return key, layers

    def _prefix_layers(self, prefix: tuple[int, ...]) -> list[tuple[Any, Any]] | None:
        """Keys and values of every layer for ``prefix`` (batch of one)."""
        import torch

        try:
            from transformers import DynamicCache

            cache = DynamicCache(config=self.model.config)
            ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
            with self._generation_mode():
                try:
                    self.model(
                        input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1
                    )
                except TypeError:
                    self.model(input_ids=ids, past_key_values=cache, use_cache=True)
            layers = getattr(cache, "layers", None)
            if not layers or any(type(layer).__name__ != "DynamicLayer" for layer in layers):
                return None
            return [(layer.keys, layer.values) for layer in layers]
        except Exception:  # an architecture whose cache cannot be primed this way
            return None

    def _batch_cache(self, layers: list[tuple[Any, Any]], batch: int) -> Any:
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        for i, (k, v) in enumerate(layers):
            cache.update(
                k.expand(batch, *k.shape[1:]).contiguous(),
                v.expand(batch, *v.shape[1:]).contiguous(),
                i,
            )
        return cache

    def _cut(self, ids: list[int]) -> tuple[int, str]:
        """How many generated tokens belong to the answer, and why it ended."""
        eos = set(self._eos_ids)
        end = len(ids)
        reason = "length"
        for j, t in enumerate(ids):
            if t in eos:
                end, reason = j + 1, "stop"
                break
        if self.stop:
            text = self.tokenizer.decode(ids[:end], skip_special_tokens=False)
            if any(s in text for s in self.stop):
                # The first prefix whose text holds a stop string (finished rows are padded).
                lo, hi = 1, end
                while lo < hi:
                    mid = (lo + hi) // 2
                    part = self.tokenizer.decode(ids[:mid], skip_special_tokens=False)
                    if any(s in part for s in self.stop):
                        hi = mid
                    else:
                        lo = mid + 1
                end, reason = lo, "stop"
        return end, reason

    def _reply(
        self,
        obs: Observation,
        prompt: list[int],
        dropped: int,
        completion: list[int],
        logprobs: list[float],
        sampling: list[float] | None,
        reason: str,
    ) -> Reply:
        full = self.tokenizer.decode(completion, skip_special_tokens=True)
        answer = self.finish_text(full, obs)
        meta: dict[str, Any] = {
            "prompt_ids": list(prompt),
            "completion_ids": list(completion),
            "logprobs": [float(x) for x in logprobs],
            "finish_reason": reason,
        }
        if sampling is not None:
            meta["sampling_logprobs"] = [float(x) for x in sampling]
        if answer != full:
            meta["raw_text"] = full
        if dropped:
            meta["context_dropped"] = dropped
        return Reply(answer, **meta)

    @contextlib.contextmanager
    def _generation_mode(self) -> Iterator[None]:
        import torch

        training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            if training:
                self.model.train()

    def __repr__(self) -> str:
        return f"HFAgent(name={self.name!r})"


def check_sampling(
    temperature: float, top_p: float, top_k: int, max_new_tokens: int, greedy: bool
) -> bool:
    """Validate sampling parameters; returns ``greedy`` (true as well for temperature 0)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    return bool(greedy) or temperature == 0


class _LogprobRecorder:
    """Logits processors that record each sampled token's log-probability.

    ``raw`` runs first and sees the model's unprocessed logits; ``processed`` (optional) runs
    last and sees the sampling distribution. Each keeps the previous step's log-softmax and
    reads the token that was sampled from it at the next step (``input_ids[:, -1]``), so memory
    stays one vocabulary row per sequence however long the answer.
    """

    def __init__(self, processed: bool) -> None:
        self.raw = _Recorder()
        self.processed = _Recorder() if processed else None

    def finish(self, sequences: Any) -> tuple[list[list[float]], list[list[float]] | None]:
        raw = self.raw.finish(sequences)
        return raw, self.processed.finish(sequences) if self.processed is not None else None


class _Recorder:
    def __init__(self) -> None:
        self.prev: Any = None
        self.steps: list[Any] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if self.prev is not None:
            self.steps.append(self.prev.gather(1, input_ids[:, -1:]).squeeze(1))
        self.prev = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, sequences: Any) -> list[list[float]]:
        import torch

        if self.prev is not None:
            self.steps.append(self.prev.gather(1, sequences[:, -1:]).squeeze(1))
            self.prev = None
        if not self.steps:
            return [[] for _ in range(sequences.shape[0])]
        return torch.stack(self.steps, dim=1).cpu().tolist()


def _warpers(temperature: float, top_k: int, top_p: float) -> list[Any]:
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    out: list[Any] = []
    if temperature != 1.0:
        out.append(TemperatureLogitsWarper(temperature))
    if top_k > 0:
        out.append(TopKLogitsWarper(top_k))
    if top_p < 1.0:
        out.append(TopPLogitsWarper(top_p))
    return out


@contextlib.contextmanager
def _seeded(seed: int, device: Any) -> Iterator[None]:
    """Seed torch for one call, then restore its global random state."""
    import torch

    devices = [device] if getattr(device, "type", str(device)).startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _dtype(dtype: str | None, device: str) -> Any:
    import torch

    if dtype is None:
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    if dtype == "auto":
        return "auto"
    try:
        value = getattr(torch, dtype)
    except AttributeError:
        value = None
    if not isinstance(value, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use bfloat16, float16, float32 or auto")
    return value


def _eos_ids(model: Any, eos: int | None) -> list[int]:
    ids: list[int] = []
    gen = getattr(model, "generation_config", None)
    for value in (eos, getattr(gen, "eos_token_id", None)):
        if value is None:
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            if int(v) not in ids:
                ids.append(int(v))
    return ids


def _context_length(model: Any, tokenizer: Any) -> int | None:
    config = getattr(model, "config", None)
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < 1_000_000:
        return value
    return None
