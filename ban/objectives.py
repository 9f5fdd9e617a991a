"""Training objectives of the paper, one function each, registered by name.

Shapes: ``student_logits`` and ``teacher_logits`` are ``[batch, classes]`` (language models pass
time steps flattened into the batch); ``targets`` is ``[batch]`` of class indices. Teacher logits
are detached inside every function. Every function returns the mean over the batch.

Each loss is registered by name with ``@objective(name, needs_teacher=..., needs_labels=...,
uses_generator=...)``, which tells the trainer what to pass it; adding an objective is one
decorated function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ban.registry import Registry


@dataclass(frozen=True)
class Objective:
    """How the trainer calls a loss: ``fn(student_logits, [teacher_logits], [targets], **args)``,
    adding ``generator=`` (the run's ``objective`` random stream) when ``uses_generator`` and
    ``example_keys=`` (``[batch, classes]`` uniform numbers fixed per training example for the
    whole run, drawn from the run's seed; ``None`` where the task has no examples) when
    ``uses_example_keys``."""

    fn: Callable[..., torch.Tensor]
    needs_teacher: bool
    needs_labels: bool
    uses_generator: bool = False
    uses_example_keys: bool = False

    def __call__(self, student_logits, teacher_logits, targets, generator=None, example_keys=None, **args) -> torch.Tensor:
        inputs = [student_logits]
        if self.needs_teacher:
            inputs.append(teacher_logits)
        if self.needs_labels:
            inputs.append(targets)
        if self.uses_generator:
            args = {**args, "generator": generator}
        if self.uses_example_keys:
            args = {**args, "example_keys": example_keys}
        return self.fn(*inputs, **args)


OBJECTIVES = Registry("objective")


def objective(name: str, *, needs_teacher: bool, needs_labels: bool, uses_generator: bool = False,
              uses_example_keys: bool = False):
    """Decorator registering a loss function as objective ``name`` (see :class:`Objective`)."""

    def add(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        entry = Objective(fn, needs_teacher=needs_teacher, needs_labels=needs_labels, uses_generator=uses_generator,
                          uses_example_keys=uses_example_keys)
        OBJECTIVES.register(name)(lambda: entry)
        return fn

    return add


@objective("ce", needs_teacher=False, needs_labels=True)
def ce(student_logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Label cross-entropy with label smoothing ``ε = label_smoothing`` in [0, 1):
    ``mean_s( −Σ_c q_{s,c} · log_softmax(z_s)_c )`` with ``q_s = (1 − ε) · onehot(y_s) + ε / C``
    over the ``C`` classes (PyTorch's definition). ``ε = 0`` is ``mean_s( −log_softmax(z_s)_{y_s} )``."""
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"objective_args.label_smoothing must be in [0, 1) (the label mass spread evenly over the classes), "
                         f"got {label_smoothing}")
    if label_smoothing == 0.0:
        return F.cross_entropy(student_logits.float(), targets)
    return F.cross_entropy(student_logits.float(), targets, label_smoothing=float(label_smoothing))


@objective("ban", needs_teacher=True, needs_labels=False)
def ban(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Teacher cross-entropy (the BAN loss):
    ``T² · mean_s( −Σ_c softmax(t_s/T)_c · log_softmax(z_s/T)_c )``. ``T = 1`` is the paper's BAN."""
    t = temperature
    teacher_probs = torch.softmax(teacher_logits.detach().float() / t, dim=-1)
    log_student = torch.log_softmax(student_logits.float() / t, dim=-1)
    return -(teacher_probs * log_student).sum(dim=-1).mean() * (t * t)


@objective("ban_l", needs_teacher=True, needs_labels=True)
def ban_l(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    label_weight: float = 0.5,
    temperature: float = 1.0,
) -> torch.Tensor:
    """BAN+L, a convex combination: ``(1 − α) · ban(z, t, T) + α · ce(z, y)`` with ``α =
    label_weight`` in [0, 1]. The paper does not state the weighting; α = 0.5 keeps the gradient
    on the scale of every other member's loss (the un-normalised sum ``ban + ce`` doubled it)."""
    if not 0.0 <= label_weight <= 1.0:
        raise ValueError(f"label_weight must be in [0, 1] (the weight of the label loss), got {label_weight}")
    return (1.0 - label_weight) * ban(student_logits, teacher_logits, temperature) + label_weight * ce(student_logits, targets)


@objective("cwtm", needs_teacher=True, needs_labels=True)
def cwtm(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Confidence-Weighted by Teacher Max:
    ``Σ_s (w_s / Σ_u w_u) · CE(z_s, y_s)`` with ``w_s = max_c softmax(t_s)_c``
    (a weighted mean over the batch, weights normalised over the batch)."""
    weights = torch.softmax(teacher_logits.detach().float(), dim=-1).amax(dim=-1)
    per_sample = F.cross_entropy(student_logits.float(), targets, reduction="none")
    return (weights * per_sample).sum() / weights.sum()


PERMUTATIONS = ("per_step", "per_example")


def dkpp_targets(teacher_logits: torch.Tensor, generator: torch.Generator | None = None,
                 example_keys: torch.Tensor | None = None, permutation: str = "per_step") -> torch.Tensor:
    """Dark Knowledge with Permuted Predictions: the teacher's softmax with, per sample, the argmax
    probability kept at its class and the other ``n−1`` probabilities permuted among the other
    classes. The paper does not say how often the permutation is drawn; two readings:

    - ``per_step`` (default): a fresh permutation for every sample at every step, from
      ``generator``. In expectation it spreads the non-argmax mass evenly over the other classes:
      a label smoothing whose strength follows the teacher's confidence.
    - ``per_example``: one permutation per training example for the whole run (its
      ``example_keys`` row, fixed and drawn from the run's seed): consistent but wrong class
      similarities. Where the teacher's argmax of an example changes between views, the same
      keys order the remaining classes.

    The permutation sorts the non-argmax classes by their keys (argmax last) and gives class
    ``j``-th-in-index-order the probability of the ``j``-th class in key order."""
    if permutation not in PERMUTATIONS:
        raise ValueError(f"dkpp permutation must be one of {', '.join(PERMUTATIONS)}; got {permutation!r}")
    probs = torch.softmax(teacher_logits.detach().float(), dim=-1)
    batch, classes = probs.shape
    top = probs.argmax(dim=-1, keepdim=True)
    if permutation == "per_example":
        if example_keys is None:
            raise ValueError("dkpp permutation 'per_example' needs training examples (an image task)")
        keys = example_keys.to(device=probs.device, dtype=torch.float32).clone()
    else:
        key_device = generator.device if generator is not None else probs.device
        keys = torch.rand(batch, classes, generator=generator, device=key_device).to(probs.device)
    # Sort keys: +inf at the argmax keeps it last; the keys order the rest. Applying the same
    # sort to the probabilities and to the class indices yields a bijection that fixes top.
    keys.scatter_(1, top, float("inf"))
    order = keys.argsort(dim=-1)  # the non-argmax classes in key order, argmax last
    source = torch.arange(classes, device=probs.device).expand(batch, classes).clone()
    source.scatter_(1, top, classes)  # push the argmax class last in a second ordering
    fixed_order = source.argsort(dim=-1)  # the non-argmax classes in index order, argmax last
    permuted = torch.empty_like(probs)
    # class fixed_order[j] receives the probability of class order[j]; the argmax maps to itself.
    permuted.scatter_(1, fixed_order, probs.gather(1, order))
    return permuted


@objective("dkpp", needs_teacher=True, needs_labels=False, uses_generator=True, uses_example_keys=True)
def dkpp(student_logits: torch.Tensor, teacher_logits: torch.Tensor, generator: torch.Generator | None = None,
         example_keys: torch.Tensor | None = None, permutation: str = "per_step") -> torch.Tensor:
    """Cross-entropy to the permuted teacher distribution:
    ``mean_s( −Σ_c dkpp_targets(t)_{s,c} · log_softmax(z_s)_c )`` (``permutation``: see ``dkpp_targets``)."""
    targets = dkpp_targets(teacher_logits, generator, example_keys, permutation)
    return -(targets * torch.log_softmax(student_logits.float(), dim=-1)).sum(dim=-1).mean()


def get_objective(name: str) -> Objective:
    """The registered objective ``name``; unknown names raise ``UnknownNameError``."""
    factory, _ = OBJECTIVES.get(name)
    return factory()
