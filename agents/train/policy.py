"""The trained model: loading (a Hugging Face folder or a tiny random-init model), LoRA, and
per-token log-probabilities of completions.

Sequences are packed as ``[left-padded prompt][right-padded completion]`` so every completion
starts at the same column: one forward pass returns the logits of the completion positions only
(``logits_to_keep``), which keeps memory small for large vocabularies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from spenv.agents.train.config import ModelConfig


def _dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def model_source(cfg: ModelConfig, run_dir: str | Path) -> str:
    """The folder or hub id the model loads from; a ``tiny`` model is written to
    ``run_dir/init_model`` first (deterministic: the same options give the same files)."""
    if cfg.path is not None:
        return cfg.path
    from spenv.agents.testing import tiny_model

    target = Path(run_dir) / "init_model"
    if not (target / "config.json").exists():
        tiny_model(target, **(cfg.tiny or {}))
    return str(target)


def load_model(cfg: ModelConfig, source: str, device: str = "cpu") -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from ``source``; wrap the model with LoRA adapters when the
    config asks for them. The tokenizer pads on the left (for generation)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(source, dtype=_dtype(cfg.dtype))
    model.to(device)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if cfg.lora is not None:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=cfg.lora.r,
            lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.dropout,
            target_modules=list(cfg.lora.target_modules),
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    return model, tokenizer


def trainable_state(model: Any, all_params: bool = False) -> dict[str, torch.Tensor]:
    """A CPU copy of the trainable parameters (all weights, or only LoRA adapters); with
    ``all_params`` every parameter, frozen or not."""
    return {
        n: p.detach().to("cpu", copy=True)
        for n, p in model.named_parameters()
        if all_params or p.requires_grad
    }


def load_trainable_state(model: Any, state: dict[str, torch.Tensor]) -> None:
    """Copy a :func:`trainable_state` back into ``model`` (names must match exactly)."""
    import torch

    params = dict(model.named_parameters())
    missing = [n for n in state if n not in params]
    if missing:
        raise KeyError(f"the model has no parameters named {missing[:3]}")
    with torch.no_grad():
        for n, t in state.items():
            params[n].copy_(t.to(params[n].device, params[n].dtype))


def pack(
    prompts: Sequence[Sequence[int]],
    completions: Sequence[Sequence[int]],
    pad_id: int,
    device: Any = "cpu",
) -> dict[str, torch.Tensor]:
    """Pack sequences as left-padded prompts followed by right-padded completions.

    Returns ``input_ids``, ``attention_mask``, ``position_ids`` (``[B, P + C]``),
    ``completion_ids`` and ``completion_mask`` (``[B, C]``; 1 on real completion tokens).
    """
    import torch

    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    b = len(prompts)
    p_len = max((len(p) for p in prompts), default=0)
    c_len = max(1, max((len(c) for c in completions), default=0))
    ids = torch.full((b, p_len + c_len), pad_id, dtype=torch.long)
    attn = torch.zeros((b, p_len + c_len), dtype=torch.long)
    cmask = torch.zeros((b, c_len), dtype=torch.long)
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        if p:
            ids[i, p_len - len(p) : p_len] = torch.tensor(list(p), dtype=torch.long)
            attn[i, p_len - len(p) : p_len] = 1
        if c:
            ids[i, p_len : p_len + len(c)] = torch.tensor(list(c), dtype=torch.long)
            attn[i, p_len : p_len + len(c)] = 1
            cmask[i, : len(c)] = 1
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    return {
        "input_ids": ids.to(device),
        "attention_mask": attn.to(device),
        "position_ids": pos.to(device),
        "completion_ids": ids[:, p_len:].to(device),
        "completion_mask": cmask.to(device),
    }


def completion_logprobs(
    model: Any, batch: dict[str, torch.Tensor], temperature: float = 1.0, full: bool = False
) -> Any:
    """Log-probabilities ``[B, C]`` of each completion token under ``model`` (logits divided
    by ``temperature``, as sampled). Values at padded positions are meaningless: mask them.

    With ``full=True`` returns ``(logp, dist)``: ``dist`` ``[B, C, V]`` is the whole next-token
    log-distribution at each completion position (for the exact KL of the loss)."""
    import torch

    c_len = batch["completion_ids"].shape[1]
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
        use_cache=False,
        logits_to_keep=c_len + 1,
    )
    logits = out.logits[:, :-1, :].float()  # the positions that predict completion tokens
    if temperature != 1.0:
        logits = logits / temperature
    dist = torch.log_softmax(logits, dim=-1)
    logp = dist.gather(-1, batch["completion_ids"].unsqueeze(-1)).squeeze(-1)
    return (logp, dist) if full else logp
