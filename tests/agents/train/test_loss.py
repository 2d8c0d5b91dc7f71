"""The GRPO loss variants and the advantage estimators against hand-computed values."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from spenv.agents.train.advantages import RoleBaselines, group_advantages  # noqa: E402
from spenv.agents.train.loss import Normalizer, kl_k3, policy_loss  # noqa: E402

# Two sequences of three completion positions; the second of the first is padding-free, the
# third of the first is padding (mask 0) and holds a value that must not matter.
LOGP = [[-1.0, -2.0, -9.0], [-0.3, -1.2, -0.7]]
OLD = [[-1.1, -1.5, -0.1], [-0.3, -1.0, -0.9]]
MASK = [[1, 1, 0], [1, 1, 1]]
ADV = [1.0, -2.0]


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


def _loss(loss_type, **kw):
    return policy_loss(_t(LOGP), _t(OLD), _t(ADV), _t(MASK), loss_type=loss_type, **kw)[0]


# Hand computation (epsilon 0.2, so the clip range is [0.8, 1.2]):
# seq 0, A = +1: r = e^0.1 = 1.105171 (inside) -> -1.105171; r = e^-0.5 = 0.606531: min(r, 0.8)
#   = r -> -0.606531.                                      token sum -1.711702, mean -0.855851
# seq 1, A = -2: r = 1 -> 2; r = e^-0.2 = 0.818731 -> -min(-1.637462, -1.637462) = 1.637462;
#   r = e^0.2 = 1.221403 > 1.2: -min(-2.442806, -2.4) = 2.442806.
#                                                          token sum 6.080268, mean 2.026756
SEQ_SUMS = (-1.711702, 6.080268)
SEQ_MEANS = (-0.855851, 2.026756)


def test_grpo_is_mean_of_sequence_means():
    assert float(_loss("grpo")) == pytest.approx(sum(SEQ_MEANS) / 2, abs=1e-5)


def test_bnpo_is_token_mean_over_batch():
    assert float(_loss("bnpo")) == pytest.approx(sum(SEQ_SUMS) / 5, abs=1e-5)


def test_dr_grpo_divides_by_a_constant_length():
    got = float(_loss("dr_grpo", max_completion_length=4))
    assert got == pytest.approx(sum(SEQ_SUMS) / (2 * 4), abs=1e-5)
    # Without the constant it is the padded width (3).
    assert float(_loss("dr_grpo")) == pytest.approx(sum(SEQ_SUMS) / (2 * 3), abs=1e-5)


def test_padding_values_do_not_matter():
    other = [row[:] for row in LOGP]
    other[0][2] = 5.0
    a = _loss("grpo")
    b = policy_loss(_t(other), _t(OLD), _t(ADV), _t(MASK), loss_type="grpo")[0]
    assert float(a) == float(b)


def test_clip_higher_and_gradients_of_clipped_tokens():
    # One token per sequence: r = e^0.4 = 1.491825 with A = +1 and r = e^-0.5 with A = -1.
    logp = torch.tensor([[0.4], [-0.5]], dtype=torch.float64, requires_grad=True)
    old = torch.zeros(2, 1, dtype=torch.float64)
    adv = _t([1.0, -1.0])
    mask = torch.ones(2, 1)
    sym, st = policy_loss(logp, old, adv, mask, loss_type="bnpo", epsilon=0.2)
    # -min(1.4918, 1.2) = -1.2 ; -min(-0.6065, -0.8) = 0.8 -> mean -0.2
    assert float(sym.detach()) == pytest.approx((-1.2 + 0.8) / 2)
    assert st["clip_high"] == 0.5 and st["clip_low"] == 0.5
    high, _ = policy_loss(logp, old, adv, mask, loss_type="bnpo", epsilon=0.2, epsilon_high=0.28)
    assert float(high.detach()) == pytest.approx((-1.28 + 0.8) / 2)
    # Both tokens are clipped: no gradient flows through either.
    high.backward()
    assert torch.equal(logp.grad, torch.zeros_like(logp))
    # Inside the range the gradient is -A * r / n.
    logp2 = torch.tensor([[0.1]], dtype=torch.float64, requires_grad=True)
    loss, _ = policy_loss(
        logp2, torch.zeros(1, 1, dtype=torch.float64), _t([1.0]), torch.ones(1, 1)
    )
    loss.backward()
    assert float(logp2.grad) == pytest.approx(-math.exp(0.1))


def test_k3_kl_value_and_penalty():
    logp = _t([[-1.0, -2.0]])
    ref = _t([[-1.5, -2.0]])
    # d = -0.5: e^-0.5 + 0.5 - 1 = 0.106531; d = 0: 0
    kl = kl_k3(logp, ref)
    assert kl[0].tolist() == pytest.approx([0.106531, 0.0], abs=1e-6)
    adv = _t([0.0])  # no policy term: the loss is the KL term alone
    loss, st = policy_loss(
        logp, logp, adv, torch.ones(1, 2), loss_type="grpo", beta=0.1, ref_logp=ref
    )
    assert float(loss) == pytest.approx(0.1 * 0.106531 / 2, abs=1e-7)
    assert st["kl"] == pytest.approx(0.106531 / 2, abs=1e-6)
    with pytest.raises(ValueError, match="ref_logp"):
        policy_loss(logp, logp, adv, torch.ones(1, 2), beta=0.1)


@pytest.mark.parametrize("loss_type", ["grpo", "dr_grpo", "bnpo"])
def test_micro_batches_with_the_batch_normalizer_add_up_to_the_full_batch(loss_type):
    norm = Normalizer(sequences=2, tokens=5)
    kw = {"loss_type": loss_type, "max_completion_length": 4}
    full = _loss(loss_type, max_completion_length=4)
    parts = [
        policy_loss(
            _t([LOGP[i]]), _t([OLD[i]]), _t([ADV[i]]), _t([MASK[i]]), normalizer=norm, **kw
        )[0]
        for i in range(2)
    ]
    assert float(sum(parts)) == pytest.approx(float(full), abs=1e-12)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="loss_type"):
        _loss("ppo")
    with pytest.raises(ValueError, match="same shape"):
        policy_loss(_t([[0.0]]), _t([[0.0, 1.0]]), _t([1.0]), _t([[1.0]]))


# ---------------------------------------------------------------- advantages
def test_rae_ema_baseline_by_hand():
    b = RoleBaselines(decay=0.9)
    # SPIRAL reads the baseline, then updates it.
    # player_0: A = 2 - 0 = 2, b -> 0.1 * 2 = 0.2 ; then A = -1 - 0.2 = -1.2, b -> 0.08
    # player_1 keeps its own baseline: A = -2 - 0 = -2, b -> -0.2
    assert b.update("KuhnPoker-v1", "player_0", 2.0) == pytest.approx(2.0)
    assert b.update("KuhnPoker-v1", "player_1", -2.0) == pytest.approx(-2.0)
    assert b.update("KuhnPoker-v1", "player_0", -1.0) == pytest.approx(-1.2)
    assert b.get("KuhnPoker-v1", "player_0") == pytest.approx(0.08)
    # Another env has its own baselines.
    assert b.update("TicTacToe-v1", "player_0", 1.0) == pytest.approx(1.0)
    out = b.advantages([("KuhnPoker-v1", {"player_0": 1.0, "player_1": -1.0})])
    assert out[0]["player_0"] == pytest.approx(1 - 0.08)
    assert out[0]["player_1"] == pytest.approx(-1 + 0.2)
    assert b.get("KuhnPoker-v1", "player_0") == pytest.approx(0.072 + 0.1)
    c = RoleBaselines()
    c.load_state_dict(b.state_dict())
    assert c.values == b.values and c.counts == b.counts and c.decay == 0.9


def test_grpo_groups_by_hand():
    rets = [1.0, -1.0, 2.0, 5.0, 0.0, 3.0]
    keys = ["a", "a", "a", "b", "c", "c"]
    # group a: mean 2/3, unbiased std sqrt(((1/3)^2 + (5/3)^2 + (4/3)^2)/2) = sqrt(7/3)
    std = math.sqrt(7 / 3)
    got = group_advantages(rets, keys, eps=0.0)
    assert got[:3] == pytest.approx([(1 / 3) / std, (-5 / 3) / std, (4 / 3) / std])
    assert got[3] == 0.0  # a group of one has no signal
    # group c: mean 1.5, std sqrt(4.5)
    assert got[4:] == pytest.approx([-1.5 / math.sqrt(4.5), 1.5 / math.sqrt(4.5)])
    assert group_advantages(rets, keys, scale=False)[:3] == pytest.approx([1 / 3, -5 / 3, 4 / 3])
    # Equal returns: zero advantage, no division by zero.
    assert group_advantages([1.0, 1.0], ["k", "k"]) == [0.0, 0.0]


# ---------------------------------------------------------------- exact KL
def test_exact_kl_value_and_that_it_pulls_on_unsampled_tokens():
    from spenv.agents.train.loss import kl_exact

    p = torch.tensor([[[0.7, 0.2, 0.1]]], dtype=torch.float64)
    q = torch.tensor([[[0.4, 0.4, 0.2]]], dtype=torch.float64)
    by_hand = 0.7 * math.log(0.7 / 0.4) + 0.2 * math.log(0.2 / 0.4) + 0.1 * math.log(0.1 / 0.2)
    assert float(kl_exact(p.log(), q.log())[0, 0]) == pytest.approx(by_hand, abs=1e-12)
    # a token the policy never writes adds nothing, even where the reference excludes it
    p0 = torch.tensor([[[1.0, 0.0]]], dtype=torch.float64).log()
    assert float(kl_exact(p0, torch.tensor([[[0.5, 0.0]]], dtype=torch.float64).log())) == (
        pytest.approx(math.log(2))
    )
    # as a loss term: beta * KL averaged over the masked positions (grpo), and its gradient
    # raises the logit of the token the reference favours although token 0 was the one sampled
    logits = torch.tensor([[[2.0, 0.0, -1.0]]], dtype=torch.float64, requires_grad=True)
    dist = torch.log_softmax(logits, -1)
    logp = dist[..., 0]
    ref = torch.tensor([[[0.1, 0.8, 0.1]]], dtype=torch.float64).log()
    loss, st = policy_loss(
        logp,
        logp.detach(),
        _t([0.0]),
        torch.ones(1, 1),
        beta=0.5,
        ref_logp=ref,
        kl_estimator="exact",
        dist=dist,
    )
    kl = float(kl_exact(dist.detach(), ref)[0, 0])
    assert float(loss) == pytest.approx(0.5 * kl, abs=1e-12)
    assert st["kl"] == pytest.approx(kl, abs=1e-12)
    loss.backward()
    assert logits.grad[0, 0, 1] < 0 < logits.grad[0, 0, 0]  # descent raises token 1
    with pytest.raises(ValueError, match="dist"):
        policy_loss(
            logp, logp, _t([0.0]), torch.ones(1, 1), beta=0.5, ref_logp=ref, kl_estimator="exact"
        )
    with pytest.raises(ValueError, match="kl_estimator"):
        policy_loss(logp, logp, _t([0.0]), torch.ones(1, 1), kl_estimator="k2")
