"""Objectives against values computed by hand from their formulas."""

import math

import pytest
import torch

from ban.objectives import OBJECTIVES, ban, ban_l, ce, cwtm, dkpp, dkpp_targets, get_objective
from ban.registry import UnknownNameError

LN3 = math.log(3.0)


def test_ce_is_label_cross_entropy():
    z = torch.tensor([[LN3, 0.0], [0.0, 0.0]])  # softmax rows (0.75, 0.25) and (0.5, 0.5)
    y = torch.tensor([0, 1])
    expected = (-math.log(0.75) - math.log(0.5)) / 2
    assert ce(z, y).item() == pytest.approx(expected, rel=1e-6)


def test_ce_label_smoothing_spreads_epsilon_over_the_classes():
    z = torch.tensor([[math.log(2.0), 0.0, 0.0], [0.0, 0.0, 0.0]])  # softmax rows (1/2, 1/4, 1/4) and (1/3, 1/3, 1/3)
    y = torch.tensor([0, 2])
    # ε = 0.3, C = 3: q_1 = (0.7 + 0.1, 0.1, 0.1) → −(0.8·ln ½ + 0.2·ln ¼) = 0.8·ln 2 + 0.4·ln 2 = 1.2·ln 2 = 0.831777;
    # row 2 is uniform, so its loss is ln 3 = 1.098612 whatever q is; the mean is 0.965195.
    expected = (1.2 * math.log(2.0) + LN3) / 2
    assert expected == pytest.approx(0.965195, abs=1e-6)
    assert ce(z, y, label_smoothing=0.3).item() == pytest.approx(expected, rel=1e-6)
    # ε = 0 is the plain label cross-entropy: (ln 2 + ln 3) / 2 = 0.895880.
    assert ce(z, y, label_smoothing=0.0).item() == pytest.approx((math.log(2.0) + LN3) / 2, rel=1e-6)


def test_ce_without_smoothing_is_bitwise_the_plain_cross_entropy():
    z = torch.randn(64, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(1))
    plain = torch.nn.functional.cross_entropy(z.float(), y)
    for loss in (ce(z, y), ce(z, y, label_smoothing=0.0), ce(z, y, label_smoothing=0)):
        assert loss.dtype == plain.dtype and loss.numpy().tobytes() == plain.numpy().tobytes()


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan")])
def test_ce_refuses_label_smoothing_outside_zero_to_one(bad):
    with pytest.raises(ValueError, match=r"^objective_args\.label_smoothing must be in \[0, 1\)"):
        ce(torch.zeros(2, 3), torch.tensor([0, 1]), label_smoothing=bad)


def test_ban_is_cross_entropy_to_teacher_softmax():
    student = torch.tensor([[0.0, LN3]])  # q = (0.25, 0.75)
    teacher = torch.tensor([[LN3, 0.0]])  # p = (0.75, 0.25)
    expected = -(0.75 * math.log(0.25) + 0.25 * math.log(0.75))  # 1.111641
    assert ban(student, teacher).item() == pytest.approx(expected, rel=1e-6)


def test_ban_temperature_scales_logits_and_multiplies_by_t_squared():
    student = torch.tensor([[0.0, 2 * LN3]])  # /2 -> q = (0.25, 0.75)
    teacher = torch.tensor([[2 * LN3, 0.0]])  # /2 -> p = (0.75, 0.25)
    expected = 4 * -(0.75 * math.log(0.25) + 0.25 * math.log(0.75))
    assert ban(student, teacher, temperature=2.0).item() == pytest.approx(expected, rel=1e-6)


def test_ban_averages_over_the_batch():
    student = torch.tensor([[0.0, LN3], [0.0, 0.0]])
    teacher = torch.tensor([[LN3, 0.0], [0.0, 5.0]])
    row2 = math.log(2.0)  # uniform student: -sum p log(1/2) = ln 2 for any p
    expected = (-(0.75 * math.log(0.25) + 0.25 * math.log(0.75)) + row2) / 2
    assert ban(student, teacher).item() == pytest.approx(expected, rel=1e-6)


def test_ban_l_is_a_convex_combination_of_teacher_and_label_loss():
    student = torch.tensor([[0.0, LN3]])
    teacher = torch.tensor([[LN3, 0.0]])
    y = torch.tensor([1])
    teacher_part = -(0.75 * math.log(0.25) + 0.25 * math.log(0.75))  # 1.111641
    label_part = -math.log(0.75)  # 0.287682
    assert ban_l(student, teacher, y).item() == pytest.approx(0.5 * 1.111641 + 0.5 * 0.287682, rel=1e-5)  # α = 0.5
    assert ban_l(student, teacher, y, label_weight=0.2).item() == pytest.approx(0.8 * teacher_part + 0.2 * label_part, rel=1e-6)
    assert ban_l(student, teacher, y, label_weight=0.0).item() == pytest.approx(ban(student, teacher).item(), rel=1e-6)
    assert ban_l(student, teacher, y, label_weight=1.0).item() == pytest.approx(ce(student, y).item(), rel=1e-6)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"label_weight must be in \[0, 1\]"):
            ban_l(student, teacher, y, label_weight=bad)


def test_cwtm_is_a_batch_normalised_weighted_mean():
    teacher = torch.tensor([[math.log(4.0), 0.0], [0.0, 0.0]])  # max probs 0.8 and 0.5
    student = torch.tensor([[LN3, 0.0], [0.0, 0.0]])
    y = torch.tensor([0, 1])
    ce0, ce1 = -math.log(0.75), math.log(2.0)
    expected = (0.8 * ce0 + 0.5 * ce1) / (0.8 + 0.5)  # 0.443630
    assert cwtm(student, teacher, y).item() == pytest.approx(expected, rel=1e-6)
    assert expected != pytest.approx((ce0 + ce1) / 2, rel=1e-3)  # not a plain mean


def test_teacher_receives_no_gradient():
    teacher = torch.randn(4, 5, requires_grad=True)
    student = torch.randn(4, 5, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3])
    for name in ("ban", "ban_l", "cwtm", "dkpp"):
        get_objective(name)(student, teacher, y, generator=torch.Generator().manual_seed(0)).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_dkpp_keeps_argmax_and_permutes_the_rest():
    torch.manual_seed(0)
    teacher = torch.randn(64, 10) * 3
    probs = torch.softmax(teacher, dim=-1)
    permuted = dkpp_targets(teacher, torch.Generator().manual_seed(1))
    top = probs.argmax(dim=-1)
    rows = torch.arange(64)
    assert torch.equal(permuted[rows, top], probs[rows, top])
    for i in range(64):
        assert torch.allclose(permuted[i].sort().values, probs[i].sort().values)
    assert torch.allclose(permuted.sum(dim=-1), torch.ones(64))
    assert not torch.allclose(permuted, probs)  # something moved


def test_dkpp_permutations_differ_between_samples_and_calls():
    teacher = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0]]).repeat(32, 1)  # identical rows
    g = torch.Generator().manual_seed(0)
    first = dkpp_targets(teacher, g)
    assert len({tuple(row.tolist()) for row in first}) > 1  # fresh permutation per sample
    second = dkpp_targets(teacher, g)
    assert not torch.equal(first, second)  # and per call
    again = dkpp_targets(teacher, torch.Generator().manual_seed(0))
    assert torch.equal(first, again)  # the generator makes it reproducible


def test_dkpp_is_cross_entropy_to_permuted_targets():
    teacher, student = torch.randn(8, 5), torch.randn(8, 5)
    targets = dkpp_targets(teacher, torch.Generator().manual_seed(3))
    expected = -(targets * torch.log_softmax(student, dim=-1)).sum(dim=-1).mean()
    assert dkpp(student, teacher, torch.Generator().manual_seed(3)).item() == pytest.approx(expected.item(), rel=1e-6)


def test_registry_lists_valid_names_for_unknown_objective():
    assert sorted(OBJECTIVES.names()) == ["ban", "ban_l", "ce", "cwtm", "dkpp"]
    with pytest.raises(UnknownNameError, match="valid: ban, ban_l, ce, cwtm, dkpp"):
        get_objective("kd")


def test_dkpp_per_example_permutation_is_fixed_per_example_and_keeps_the_argmax():
    keys = torch.rand(3, 6, generator=torch.Generator().manual_seed(4))  # the run's table rows for 3 examples
    teacher = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0]]).repeat(3, 1)  # the same teacher output
    first = dkpp_targets(teacher, torch.Generator().manual_seed(0), keys, "per_example")
    later = dkpp_targets(teacher, torch.Generator().manual_seed(99), keys, "per_example")  # another step, another epoch
    assert torch.equal(first, later)  # fixed for each example, whatever the step's random stream
    assert len({tuple(row.tolist()) for row in first}) == 3  # different between examples
    probs = torch.softmax(teacher, dim=-1)
    assert torch.equal(first[:, 0], probs[:, 0])  # the argmax keeps its probability
    for row in first:
        assert torch.allclose(row.sort().values, probs[0].sort().values)
    # By hand for example 0: the non-argmax classes 1..5 in key order receive, in index order, the
    # probabilities of the classes in key order.
    order = [c for c in keys[0].argsort().tolist() if c != 0]
    expected = probs[0].clone()
    for target, source in zip(range(1, 6), order):
        expected[target] = probs[0, source]
    assert torch.equal(first[0], expected)


def test_dkpp_permutation_values_are_checked():
    with pytest.raises(ValueError, match="permutation must be one of per_step, per_example; got 'per_epoch'"):
        dkpp_targets(torch.zeros(2, 3), permutation="per_epoch")
    with pytest.raises(ValueError, match="needs training examples"):
        dkpp_targets(torch.zeros(2, 3), permutation="per_example")
