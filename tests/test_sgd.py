"""ban.sgd.SGD: hand-computed updates, bit-for-bit the weights torch.optim.SGD gives on a CPU, resuming
from its state, and a training process that never imports torch._dynamo."""

import json
import subprocess
import sys

import pytest
import torch

from ban.models import build_model
from ban.sgd import SGD


def test_two_nesterov_steps_on_a_scalar_by_hand():
    # w = 1, g = 2w (loss w²), λ = 0.5, μ = 0.9, η = 0.1.
    # Step 1: d = 2 + 0.5 = 2.5, b = 2.5, w = 1 − 0.1·(2.5 + 0.9·2.5) = 0.525.
    # Step 2: d = 1.05 + 0.2625 = 1.3125, b = 0.9·2.5 + 1.3125 = 3.5625,
    #         w = 0.525 − 0.1·(1.3125 + 0.9·3.5625) = 0.073125.
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = SGD([{"params": [w], "weight_decay": 0.5}], lr=0.1, momentum=0.9, nesterov=True)
    for expected in (0.525, 0.073125):
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
        assert w.item() == pytest.approx(expected, abs=1e-12)
    assert opt.buffers[0][0].item() == pytest.approx(3.5625, abs=1e-12)


def test_plain_sgd_has_no_buffer_and_steps_by_the_gradient():
    w = torch.tensor([3.0], requires_grad=True)
    opt = SGD([w], lr=0.25)
    (2 * w).sum().backward()
    opt.step()
    assert w.item() == 2.5 and opt.buffers == [[None]]


def _train(make_optimizer, steps: int = 6, resume_at: int | None = None) -> torch.Tensor:
    """A small CNN trained ``steps`` steps with a per-step rate change, its weights flattened; with
    ``resume_at``, the optimizer is rebuilt from its state_dict at that step (as a resume does)."""
    torch.manual_seed(0)
    model = build_model("cnn", 1, 4, width=4, hidden=16)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = lambda: [{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}]  # noqa: E731
    opt = make_optimizer(groups())
    data = torch.Generator().manual_seed(1)
    for step in range(steps):
        if step == resume_at:
            state = opt.state_dict()
            opt = make_optimizer(groups())
            opt.load_state_dict(state)
        x, y = torch.randn(8, 1, 12, 12, generator=data), torch.randint(0, 4, (8,), generator=data)
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        for group in opt.param_groups:
            group["lr"] = 0.1 * 0.5 ** (step + 1)
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("momentum, nesterov", [(0.9, True), (0.9, False), (0.0, False)])
def test_the_same_weights_as_torch_optim_sgd_bit_for_bit(momentum, nesterov):
    ours = _train(lambda groups: SGD(groups, lr=0.1, momentum=momentum, nesterov=nesterov))
    theirs = _train(lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=momentum, nesterov=nesterov))
    assert torch.equal(ours, theirs)


def test_a_resumed_optimizer_continues_bit_for_bit():
    make = lambda groups: SGD(groups, lr=0.1, momentum=0.9, nesterov=True)  # noqa: E731
    assert torch.equal(_train(make, resume_at=3), _train(make))


def test_state_of_another_model_is_refused():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2, bias=False)
    state = SGD(a.parameters(), lr=0.1, momentum=0.9).state_dict()
    with pytest.raises(ValueError, match="parameter groups do not match"):
        SGD(b.parameters(), lr=0.1, momentum=0.9).load_state_dict(state)


@pytest.mark.torch_process
def test_a_training_process_never_imports_torch_dynamo(tiny_spec, tmp_path):
    """torch.optim's optimizers import torch._dynamo (seconds at every job's start); a training does not."""
    code = (
        "import json, sys; from ban.lifecycle import run_member; "
        f"run_member(json.loads({json.dumps(json.dumps(tiny_spec))}), {str(tmp_path / 'gen0')!r}, log=lambda line: None); "
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
