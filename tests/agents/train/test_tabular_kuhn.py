"""The tabular sanity check of the Kuhn CPU recipe's update rule.

The trainer's rule (prompt-grouped advantages, the clipped loss with the exact KL to the
uniform reference and to a magnet refreshed on a schedule, Adam, cosine decay) applied to a table
of 12 information sets x 2 moves instead of a network, with the recipe's sample size (256
self-play games a step). It separates what the algorithm does from what the network does: if the
table converges and the network does not, the representation is to blame.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spenv.agents.train.advantages import group_advantages  # noqa: E402
from spenv.agents.train.loss import policy_loss  # noqa: E402
from spenv.games.kuhn_poker import INFOSETS, exploitability, payoff  # noqa: E402

_INDEX = {k: i for i, k in enumerate(INFOSETS)}
_DEALS = [(a, b) for a in "JQK" for b in "JQK" if a != b]
_ENDS = ("pp", "pbp", "pbb", "bp", "bb")


def _play(p_bet: np.ndarray, games: int, rng: np.random.Generator) -> list[tuple[int, int, float]]:
    """Self-play games of the table; every decision as (information set, move, its seat's
    return), move 1 the aggressive one."""
    out = []
    for _ in range(games):
        cards = _DEALS[int(rng.integers(6))]
        history, turns = "", []
        while history not in _ENDS:
            seat = 0 if history in ("", "pb") else 1
            i = _INDEX[cards[seat] + history]
            move = int(rng.random() < p_bet[i])
            turns.append((seat, i, move))
            history += "b" if move else "p"
        rewards = payoff(cards, history)
        out.extend((i, m, rewards[seat]) for seat, i, m in turns)
    return out


def train_table(
    steps: int,
    *,
    beta: float,
    magnet_coef: float,
    magnet_every: int = 10,
    lr: float = 0.1,
    games: int = 256,
    seed: int = 0,
) -> list[float]:
    """Exploitability of the table every 50 steps (and at the end)."""
    rng = np.random.default_rng(seed)
    theta = torch.zeros(12, 2, dtype=torch.float64, requires_grad=True)
    ref = torch.log_softmax(torch.zeros(12, 2, dtype=torch.float64), -1)
    magnet = ref.clone()
    opt = torch.optim.Adam([theta], lr=lr)
    curve = []
    for s in range(steps):
        t = s / max(1, steps - 1)
        opt.param_groups[0]["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))
        with torch.no_grad():
            p_bet = torch.softmax(theta, -1)[:, 1].numpy()
        dec = _play(p_bet, games, rng)
        sets = [i for i, _, _ in dec]
        adv = group_advantages([r for _, _, r in dec], sets, scale=False)
        idx = torch.tensor(sets)
        moves = torch.tensor([m for _, m, _ in dec])
        dist = torch.log_softmax(theta, -1)[idx].unsqueeze(1)  # [N, 1, 2]
        logp = dist.gather(-1, moves.view(-1, 1, 1)).squeeze(-1)
        loss, _ = policy_loss(
            logp,
            logp.detach(),
            torch.tensor(adv, dtype=torch.float64),
            torch.ones_like(logp),
            beta=beta,
            ref_logp=ref[idx].unsqueeze(1),
            magnet_coef=magnet_coef,
            magnet_logp=magnet[idx].unsqueeze(1),
            kl_estimator="exact",
            dist=dist,
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (s + 1) % magnet_every == 0:
            magnet = torch.log_softmax(theta.detach(), -1).clone()
        if (s + 1) % 50 == 0 or s == steps - 1:
            with torch.no_grad():
                table = torch.softmax(theta, -1)[:, 1].tolist()
            curve.append(exploitability(dict(zip(INFOSETS, table, strict=True))))
    return curve


@pytest.mark.slow
def test_the_recipes_update_rule_converges_on_the_table():
    """Uniform play is 0.458 exploitable; the regularised rule on the table reaches < 0.08
    (measured 0.045-0.062 over seeds 0-2 at 300 steps), so the rule is not what keeps the
    network from the goal."""
    curve = train_table(300, beta=0.2, magnet_coef=2.0)
    assert curve[0] < 0.3
    assert curve[-1] < 0.08, curve
