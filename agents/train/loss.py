"""The clipped policy-gradient loss of GRPO and its aggregation variants.

For every completion token ``t`` of sample ``i`` with advantage ``A_i``, the ratio
``r = exp(logp - old_logp)`` of the current to the sampling policy is clipped to
``[1 - epsilon, 1 + epsilon_high]`` (``epsilon_high > epsilon`` is DAPO's "clip higher") and the
token loss is ``-min(r * A, clip(r) * A)``. With ``beta > 0`` the k3 estimator of the KL
divergence to a reference policy, ``exp(ref - logp) - (ref - logp) - 1``, is added with weight
``beta``; with ``magnet_coef > 0`` the same estimator to a *magnet* policy (magnetic mirror
descent, Sokota et al. 2023: a frozen copy of the policy that the trainer refreshes on a
schedule) is added with weight ``magnet_coef``. With ``kl_estimator="exact"`` both penalties are
instead the exact KL divergence of the whole next-token distributions at each completion
position, ``sum_v p(v) (log p(v) - log q(v))`` over the vocabulary (from the logits, not from the
sampled token): its gradient also reaches the moves that were not sampled, which is what a
mirror-descent step toward a magnet needs when a move has become rare.

Token losses are aggregated over the completion tokens (``mask``) as named in TRL:

- ``grpo``: the mean over each sequence's tokens, then the mean over sequences;
- ``dr_grpo``: the sum over all tokens divided by ``sequences * max_completion_length`` (a
  constant, so long answers are not down-weighted: Dr. GRPO);
- ``bnpo``: the mean over all tokens of the batch.

Only positions where ``mask`` is 1 (the acting agent's completion tokens) contribute, so no
gradient reaches prompt tokens, padding, or another agent's text.

Identical decisions (same prompt, same completion, advantages of the same sign) can be merged
into one row with a ``weight`` (how many samples it stands for) and their mean advantage: the
loss is then exactly that of the unmerged batch, at a fraction of the cost. Games with few
information states (Kuhn poker has twelve) repeat the same decisions hundreds of times a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

LOSS_TYPES = ("grpo", "dr_grpo", "bnpo")
KL_ESTIMATORS = ("k3", "exact")


@dataclass(frozen=True)
class Normalizer:
    """The batch-wide quantities a loss is divided by.

    When one optimizer step accumulates gradients over several micro-batches, each micro-batch
    must be divided by the totals of the whole batch (not its own) for the summed gradient to
    equal the full batch's: ``sequences`` (number of samples in the batch) and ``tokens`` (number
    of completion tokens in the batch).
    """

    sequences: int
    tokens: int


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(policy || reference): ``exp(d) - d - 1`` with
    ``d = ref_logp - logp`` (non-negative, unbiased for samples from the policy)."""
    import torch

    d = ref_logp - logp
    return torch.exp(d) - d - 1


def kl_exact(dist: torch.Tensor, ref_dist: torch.Tensor) -> torch.Tensor:
    """Per-position exact KL(policy || reference) ``[B, T]`` from two ``[B, T, V]`` tensors of
    next-token log-probabilities: ``sum_v exp(dist) * (dist - ref_dist)``."""
    import torch

    if dist.shape != ref_dist.shape:
        raise ValueError(
            f"distributions {tuple(dist.shape)} and {tuple(ref_dist.shape)} differ in shape"
        )
    p = torch.exp(dist)
    # 0 * log 0 = 0: a token the policy never writes adds nothing, even where ref is -inf
    return torch.where(p > 0, p * (dist - ref_dist), torch.zeros_like(p)).sum(-1)


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    loss_type: str = "grpo",
    epsilon: float = 0.2,
    epsilon_high: float | None = None,
    beta: float = 0.0,
    ref_logp: torch.Tensor | None = None,
    max_completion_length: int | None = None,
    normalizer: Normalizer | None = None,
    weights: torch.Tensor | None = None,
    magnet_coef: float = 0.0,
    magnet_logp: torch.Tensor | None = None,
    kl_estimator: str = "k3",
    dist: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of a (micro-)batch and statistics about it.

    ``logp``, ``old_logp``, ``mask`` (and ``ref_logp``) are ``[B, T]`` tensors over completion
    positions; ``advantages`` is ``[B]``. ``normalizer`` gives the whole batch's sequence and
    token counts when this is one micro-batch of several (default: this batch's own).
    ``max_completion_length`` is the constant of ``dr_grpo`` (default: ``T``). ``weights``
    (``[B]``) counts how many identical samples each row stands for (default 1 each); merged
    rows must share the sign of their advantages, and ``advantages`` holds their mean.

    ``kl_estimator="exact"``: ``dist`` is the policy's ``[B, T, V]`` next-token log-distribution
    (with gradient) and ``ref_logp`` / ``magnet_logp`` are the reference's and magnet's
    ``[B, T, V]`` distributions; the penalties are :func:`kl_exact`.

    Returns ``(loss, stats)``; ``stats`` holds the masked means of the clip fraction (low, high),
    the ratio and the KL, as floats.
    """
    import torch

    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
    if epsilon < 0 or (epsilon_high is not None and epsilon_high < 0):
        raise ValueError("epsilon and epsilon_high must be non-negative")
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got {beta}")
    if beta > 0 and ref_logp is None:
        raise ValueError("beta > 0 needs ref_logp, the reference policy's log-probabilities")
    if magnet_coef < 0:
        raise ValueError(f"magnet_coef must be non-negative, got {magnet_coef}")
    if magnet_coef > 0 and magnet_logp is None:
        raise ValueError("magnet_coef > 0 needs magnet_logp, the magnet policy's log-probabilities")
    if kl_estimator not in KL_ESTIMATORS:
        raise ValueError(f"kl_estimator must be one of {KL_ESTIMATORS}, got {kl_estimator!r}")
    exact = kl_estimator == "exact"
    if exact and (beta > 0 or magnet_coef > 0) and (dist is None or dist.shape[:2] != logp.shape):
        raise ValueError("kl_estimator='exact' needs dist, the policy's [B, T, V] log-probs")
    if logp.shape != old_logp.shape or logp.shape != mask.shape:
        raise ValueError(
            f"logp {tuple(logp.shape)}, old_logp {tuple(old_logp.shape)} and mask "
            f"{tuple(mask.shape)} must have the same shape"
        )
    if advantages.shape != logp.shape[:1]:
        raise ValueError(f"advantages must be [B]={logp.shape[0]}, got {tuple(advantages.shape)}")
    eps_high = epsilon if epsilon_high is None else epsilon_high
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - old_logp)
    clipped = torch.clamp(ratio, 1.0 - epsilon, 1.0 + eps_high)
    adv = advantages.to(logp.dtype).unsqueeze(1)
    per_token = -torch.min(ratio * adv, clipped * adv)
    kl = None
    if beta > 0:
        kl = kl_exact(dist, ref_logp) if exact else kl_k3(logp, ref_logp)  # type: ignore[arg-type]
        per_token = per_token + beta * kl
    kl_magnet = None
    if magnet_coef > 0:
        kl_magnet = (
            kl_exact(dist, magnet_logp)  # type: ignore[arg-type]
            if exact
            else kl_k3(logp, magnet_logp)  # type: ignore[arg-type]
        )
        per_token = per_token + magnet_coef * kl_magnet
    if weights is None:
        w = torch.ones(logp.shape[0], dtype=logp.dtype, device=logp.device)
    else:
        if weights.shape != logp.shape[:1]:
            raise ValueError(f"weights must be [B]={logp.shape[0]}, got {tuple(weights.shape)}")
        w = weights.to(logp.dtype)
    n_seq = normalizer.sequences if normalizer is not None else float(w.sum().item())
    n_tok = normalizer.tokens if normalizer is not None else float((mask.sum(-1) * w).sum().item())
    masked = per_token * mask * w.unsqueeze(1)
    if loss_type == "grpo":
        per_seq = masked.sum(-1) / mask.sum(-1).clamp(min=1.0)
        loss = per_seq.sum() / max(n_seq, 1)
    elif loss_type == "bnpo":
        loss = masked.sum() / max(n_tok, 1)
    else:  # dr_grpo
        length = max_completion_length if max_completion_length is not None else logp.shape[1]
        loss = masked.sum() / (max(n_seq, 1) * length)

    with torch.no_grad():
        mask = mask * w.unsqueeze(1)
        total = mask.sum().clamp(min=1e-12)
        low = ((ratio < 1.0 - epsilon) & (adv < 0)).to(logp.dtype)
        high = ((ratio > 1.0 + eps_high) & (adv > 0)).to(logp.dtype)
        stats = {
            "clip_low": float((low * mask).sum() / total),
            "clip_high": float((high * mask).sum() / total),
            "ratio": float((ratio * mask).sum() / total),
            "kl": float((kl * mask).sum() / total) if kl is not None else 0.0,
        }
        if kl_magnet is not None:
            stats["kl_magnet"] = float((kl_magnet * mask).sum() / total)
    return loss, stats
