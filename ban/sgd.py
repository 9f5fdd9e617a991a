"""Stochastic gradient descent with momentum and weight decay: the update of ``torch.optim.SGD``
(dampening 0, its one-tensor-at-a-time form), written out so that a training process never
imports ``torch.optim``'s optimizers, whose construction and ``step`` import ``torch._dynamo``
(2–5 s of every training job's start on the 2-core CPU this project is developed on; nothing here
compiles).

Per parameter ``w`` with gradient ``g`` in a group with weight decay ``λ``, momentum ``μ`` and
learning rate ``η``::

    d = g + λ·w                     (λ = 0: d = g)
    b = d                           (the first step: b is the momentum buffer, per parameter)
    b ← μ·b + d                     (every later step)
    w ← w − η·(d + μ·b)             (nesterov)
    w ← w − η·b                     (momentum without nesterov)
    w ← w − η·d                     (μ = 0: no buffer)

Each line is the tensor operation ``torch.optim.SGD`` performs on a CPU, in its order, so the
trained weights are bit-for-bit those it would give there (``tests/test_sgd.py``).
Parameters without a gradient are skipped and keep their buffer.
"""

from __future__ import annotations

from typing import Iterable

import torch


class SGD:
    """``SGD(groups, lr, momentum, nesterov)``: ``groups`` is a list of ``{"params": [...],
    "weight_decay": λ}`` (or an iterable of parameters, one group with ``weight_decay``).
    ``param_groups[i]["lr"]`` is the rate the next ``step`` uses (a schedule sets it);
    ``state_dict()``/``load_state_dict()`` hold the rates and momentum buffers for resuming."""

    def __init__(self, groups: Iterable, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        groups = list(groups)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups, "weight_decay": weight_decay}]
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov needs momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov
        self.param_groups = [{"params": list(g["params"]), "weight_decay": g.get("weight_decay", weight_decay), "lr": lr}
                             for g in groups]
        self.buffers: list[list[torch.Tensor | None]] = [[None] * len(g["params"]) for g in self.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``set_to_none=False``: fill it with zeros instead)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter with a gradient (the module docstring's formulas)."""
        momentum = self.momentum
        for group, buffers in zip(self.param_groups, self.buffers):
            lr, weight_decay = group["lr"], group["weight_decay"]
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                d = p.grad
                if weight_decay != 0:
                    d = d.add(p, alpha=weight_decay)
                if momentum != 0:
                    b = buffers[i]
                    if b is None:
                        b = buffers[i] = torch.clone(d).detach()
                    else:
                        b.mul_(momentum).add_(d)
                    d = d.add(b, alpha=momentum) if self.nesterov else b
                p.add_(d, alpha=-lr)

    def state_dict(self) -> dict:
        """``{"lr": [per group], "momentum_buffer": [per group, per parameter: tensor or None]}``."""
        return {"lr": [g["lr"] for g in self.param_groups], "momentum_buffer": [list(b) for b in self.buffers]}

    def load_state_dict(self, state: dict) -> None:
        """Restore rates and buffers saved by ``state_dict`` from an optimizer over the same parameters."""
        if len(state["lr"]) != len(self.param_groups) or [len(b) for b in state["momentum_buffer"]] != [len(b) for b in self.buffers]:
            raise ValueError("SGD state: its parameter groups do not match this model's")
        for group, lr, saved, buffers in zip(self.param_groups, state["lr"], state["momentum_buffer"], self.buffers):
            group["lr"] = lr
            for i, (p, b) in enumerate(zip(group["params"], saved)):
                buffers[i] = None if b is None else b.to(device=p.device, dtype=p.dtype)
