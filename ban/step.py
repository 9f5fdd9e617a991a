"""One SGD step of the image trainer, run eagerly or replayed from a CUDA graph.

A step on batch ``(x, y)``: ``t = teacher(x)`` (no gradients, in fp32 outside autocast on every
device, so the soft targets are those of the teacher every report scores) when the objective
needs one, then
``loss = objective(student(x), t, y)``, backward, optimizer step; it returns ``(loss, correct,
confidence)`` as device tensors (no host synchronisation), where ``confidence`` is
``[Σ_s max_c p_s,c, Σ_s −Σ_c p_s,c log p_s,c]`` over the batch's teacher probabilities
``p = softmax(t)`` (zeros without a teacher): the teacher's confidence on the views the student
trains on, at no extra forward pass.

Small networks at the paper's batch size of 128 are bound by the host launching a few hundred
kernels per step, not by the GPU. On CUDA, :class:`Stepper` therefore records the whole step of a
full batch (teacher forward, student forward and backward, SGD update, ``ban.sgd``) as one CUDA graph
after a few eager warm-up steps and then replays it, copying each batch into the graph's static
input. The learning rate is baked into the graph, so the graph is re-recorded when it changes
(once per epoch at most). Partial batches, and objectives that draw random numbers from their own
generator (DKPP), run eagerly. Replay performs the same kernels on the same data as the eager step.
"""

from __future__ import annotations

from typing import Callable

import torch

from ban.runtime import autocast
from ban.sgd import SGD

WARMUP_STEPS = 3


def make_step(model, teacher, objective, objective_args: dict, optimizer, device: torch.device, precision: str,
              generator: torch.Generator | None) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The eager step ``(x, y) -> (loss, correct)`` described in the module docstring."""

    def step(x: torch.Tensor, y: torch.Tensor, keys: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        teacher_logits = None
        confidence = torch.zeros(2, device=x.device)
        if teacher is not None:
            with torch.no_grad():  # fp32 on every device: the targets are never bf16 (module docstring)
                teacher_logits = teacher(x).float()
            confidence = teacher_confidence(teacher_logits)
        with autocast(device, precision):
            logits = model(x)
            loss = objective(logits, teacher_logits, y, generator=generator, example_keys=keys, **objective_args)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach(), (logits.detach().argmax(dim=-1) == y).sum(), confidence

    return step


@torch.no_grad()
def teacher_confidence(teacher_logits: torch.Tensor) -> torch.Tensor:
    """``[Σ_s max_c p_s,c, Σ_s H(p_s)]`` (fp32) of ``p = softmax(teacher_logits)`` over a batch,
    ``H(p) = −Σ_c p_c log p_c`` in nats (0 · log 0 = 0)."""
    log_p = torch.log_softmax(teacher_logits.float(), dim=-1)
    p = log_p.exp()
    return torch.stack((p.amax(dim=-1).sum(), -(p * log_p).sum()))


class Stepper:
    """Runs ``step`` on each batch: eagerly, or (``graphs=True``, CUDA only) by CUDA graph replay
    for batches of ``batch_size`` samples, as the module docstring describes."""

    def __init__(self, step: Callable, optimizer: SGD, batch_size: int, graphs: bool):
        self.step, self.optimizer, self.batch_size, self.graphs = step, optimizer, batch_size, graphs
        self.eager_steps = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.graph_lr: float | None = None
        self.side_stream = torch.cuda.Stream() if graphs else None

    def __call__(self, x: torch.Tensor, y: torch.Tensor, keys: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """One step on ``(x, y)`` (``(loss, correct, confidence)``); ``keys``: the batch's per-example keys (eager steps only: the
        objectives that read them draw random numbers and never run from a graph)."""
        if not self.graphs or len(y) != self.batch_size:
            return self.step(x, y, keys)
        if self.eager_steps < WARMUP_STEPS:  # warm-up on a side stream, as CUDA graph capture asks
            self.eager_steps += 1
            self.side_stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side_stream):
                out = self.step(x, y)
            torch.cuda.current_stream().wait_stream(self.side_stream)
            return out
        lr = self.optimizer.param_groups[0]["lr"]
        if self.graph is None or lr != self.graph_lr:
            self.record(x, y, lr)
        self.static_x.copy_(x)
        self.static_y.copy_(y)
        self.graph.replay()
        return self.static_out

    def record(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        """(Re-)record the graph of one step on static copies of ``x`` and ``y`` (nothing runs)."""
        if self.graph is None:
            self.static_x, self.static_y = x.clone(), y.clone()
        self.graph = None  # release the previous recording before the next one
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.static_out = self.step(self.static_x, self.static_y)
        self.graph, self.graph_lr = graph, lr
