"""The image trainer: one loop for teachers and students.

A step draws a batch from the device-resident training tensors, augments it with batched tensor
ops, runs the teacher (eval mode, no gradients) on the same augmented batch when the objective
needs one, and takes an SGD step on ``objective(student(x), teacher(x), y)`` (``ban.step``: on
CUDA, full-batch steps are replayed from a CUDA graph). After every epoch
the test error is logged and a resume checkpoint is written atomically; a rerun continues from the
last finished epoch with identical results. ``model.pt``, ``predictions.npz`` and ``metrics.json``
appear only when training is complete (``metrics.json`` last).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ban import checkpoint as ckpt_io
from ban.augment import random_crop_flip
from ban.metrics import classification_scores
from ban.models import build_model, num_parameters
from ban.objectives import get_objective
from ban.step import Stepper, autocast, make_step


class TrainingError(ValueError):
    """A run that cannot start or cannot go on (bad recipe, divergence); one-line message."""


@dataclass
class Recipe:
    """SGD recipe; the defaults are the paper's (Nesterov 0.9, wd 5e-4, lr 0.1 × 0.2 at milestones, batch 128)."""

    epochs: int = 200
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "step"
    milestones: list[int] = field(default_factory=lambda: [60, 120, 160])
    gamma: float = 0.2
    augment: bool = True
    crop_padding: int = 4
    precision: str = "auto"
    channels_last: str | bool = "auto"
    cuda_graphs: str | bool = "auto"
    eval_batch_size: int = 1024
    eval_every: int = 1

    @classmethod
    def from_dict(cls, values: dict) -> "Recipe":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TrainingError(f"unknown recipe key(s) {unknown}; valid: {sorted(known)}")
        recipe = cls(**values)
        if not isinstance(recipe.epochs, int) or recipe.epochs < 1:
            raise TrainingError(f"recipe.epochs must be a positive integer, got {recipe.epochs!r}")
        if recipe.batch_size < 1 or recipe.lr <= 0:
            raise TrainingError("recipe.batch_size and recipe.lr must be positive")
        if not isinstance(recipe.eval_every, int) or recipe.eval_every < 1:
            raise TrainingError(f"recipe.eval_every must be a positive integer, got {recipe.eval_every!r}")
        if recipe.schedule not in ("step", "cosine", "constant"):
            raise TrainingError(f"recipe.schedule must be one of step, cosine, constant; got {recipe.schedule!r}")
        if recipe.precision not in ("auto", "fp32", "bf16"):
            raise TrainingError(f"recipe.precision must be one of auto, fp32, bf16; got {recipe.precision!r}")
        for key in ("channels_last", "cuda_graphs"):
            if getattr(recipe, key) not in ("auto", True, False):
                raise TrainingError(f"recipe.{key} must be auto, true or false; got {getattr(recipe, key)!r}")
        return recipe

    def evaluates(self, epoch: int) -> bool:
        """Whether the test set is scored after epoch ``epoch`` (1-based): every ``eval_every``-th
        epoch and always the last."""
        return epoch % self.eval_every == 0 or epoch == self.epochs

    def lr_factor(self, epoch: int) -> float:
        """Multiplier of ``lr`` during epoch ``epoch`` (0-based)."""
        if self.schedule == "step":
            return self.gamma ** sum(epoch >= m for m in self.milestones)
        if self.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return 1.0


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"device {device!r} requested but CUDA is not available")
    return torch.device(device)


def use_cuda_graphs(recipe: Recipe, device: torch.device, objective) -> bool:
    """Replay full-batch steps from a CUDA graph (``ban.step``): on CUDA unless switched off, and
    never for objectives with their own random generator (DKPP)."""
    return recipe.cuda_graphs in (True, "auto") and device.type == "cuda" and not objective.uses_generator


def use_channels_last(recipe: Recipe) -> bool:
    """channels_last memory format: on by default (measured 1.6–2.5× faster for the small CNN on CPU)."""
    return recipe.channels_last in (True, "auto")


@torch.inference_mode()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int, device: torch.device, precision: str, channels_last: bool) -> np.ndarray:
    """Softmax probabilities ``[N, C]`` (float32, on the host) of ``model`` in eval mode."""
    model.eval()
    out = []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            out.append(torch.softmax(model(xb).float(), dim=-1))
    return torch.cat(out).cpu().numpy().astype(np.float32)


def score_model(model: torch.nn.Module, data, recipe: dict, device: torch.device) -> tuple[dict, dict]:
    """``(scores, predictions)`` of a trained ``model`` on ``data``'s held-out splits, in fp32.

    Image data: scores of ``ban.metrics.classification_scores`` on the test split and predictions
    ``{"probs", "labels"}``; text data: ``ban.lm_train.text_scores`` (val and test perplexity).
    ``recipe`` gives the evaluation batch size (and ``bptt`` for text)."""
    if data.kind == "text":
        from ban.lm_train import TextRecipe, text_scores

        text_recipe = TextRecipe.from_dict(recipe)
        return text_scores(model, data.to(device), text_recipe.eval_batch_size, text_recipe.bptt)
    probs = predict(model, data.test_x.to(device), Recipe.from_dict(recipe).eval_batch_size, device, "fp32", False)
    labels = data.test_y.cpu().numpy().astype(np.int64)
    return classification_scores(probs, labels), {"probs": probs, "labels": labels}


def load_teacher(path: Path, dataset: str, num_classes: int, device: torch.device, channels_last: bool) -> torch.nn.Module:
    """The frozen teacher of a student run: eval mode, no gradients, on ``device``."""
    ckpt = ckpt_io.load_model_checkpoint(path, dataset=dataset, num_classes=num_classes)
    teacher = ckpt_io.build_from_checkpoint(ckpt, path).to(device).eval().requires_grad_(False)
    if channels_last:
        teacher = teacher.to(memory_format=torch.channels_last)
    return teacher


def train(spec: dict, out_dir: Path, teacher_path: Path | None = None, device: str = "auto", log: Callable[[str], None] = print) -> dict:
    """Train the member ``spec`` describes into ``out_dir``; return its metrics (see module doc)."""
    from ban.data import load_dataset

    out_dir = Path(out_dir)
    started = time.perf_counter()
    dev = resolve_device(device)
    data = load_dataset(**spec["dataset"])
    if spec.get("checkpoint"):  # a teacher trained elsewhere: evaluated, not trained
        from ban.imported import import_teacher

        return import_teacher(spec, out_dir, data, dev, log=log)
    if data.kind == "text":  # text recipes have their own keys (bptt, clip, plateau_*)
        from ban.lm_train import train_text

        return train_text(spec, out_dir, teacher_path, str(dev), log=log, data=data)
    recipe = Recipe.from_dict(spec["recipe"])
    objective = get_objective(spec["objective"]["name"])
    objective_args = spec["objective"].get("args", {})
    if objective.needs_teacher and teacher_path is None:
        raise TrainingError(f"objective {spec['objective']['name']!r} needs a teacher checkpoint (--teacher)")
    data = data.to(dev)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed batch shapes: let cuDNN pick the fastest kernels
    channels_last = use_channels_last(recipe)
    teacher = load_teacher(teacher_path, data.name, data.num_classes, dev, channels_last) if objective.needs_teacher else None

    seed = int(spec["train_seed"])
    torch.manual_seed(seed)
    model_info = {"name": spec["model"]["name"], "args": spec["model"].get("args", {}), "in_channels": data.in_channels, "num_classes": data.num_classes}
    model = build_model(model_info["name"], data.in_channels, data.num_classes, **model_info["args"]).to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    optimizer = torch.optim.SGD(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov, fused=dev.type == "cuda" or None,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, recipe.lr_factor)
    generators = {name: torch.Generator(device=dev).manual_seed(seed + offset) for offset, name in enumerate(("shuffle", "augment", "objective"), 1)}

    run_step = Stepper(
        make_step(model, teacher, objective, objective_args, optimizer, dev, recipe.precision, generators["objective"]),
        optimizer, recipe.batch_size, graphs=use_cuda_graphs(recipe, dev, objective),
    )
    history: list[dict] = []
    start_epoch = 0
    resumed = ckpt_io.load_resume(out_dir, spec)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        scheduler.load_state_dict(resumed["scheduler"])
        ckpt_io.set_rng_state(resumed["rng"], generators)
        history, start_epoch = resumed["history"], resumed["epoch"]
        log(f"resumed from epoch {start_epoch} ({out_dir / ckpt_io.RESUME_FILE})")
    log(f"train {spec.get('member', '?')}: {model_info['name']} ({num_parameters(model):,} params) on {data.name}, "
        f"objective {spec['objective']['name']}, {recipe.epochs} epochs, device {dev}"
        f"{' (CUDA graphs)' if run_step.graphs else ''}, seed {seed}")

    n = len(data.train_y)
    steps = math.ceil(n / recipe.batch_size)
    show_bar = sys.stderr.isatty()
    for epoch in range(start_epoch, recipe.epochs):
        epoch_start = time.perf_counter()
        model.train()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        order = torch.randperm(n, device=dev, generator=generators["shuffle"])
        for step in range(steps):
            idx = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            x, y = data.train_x[idx], data.train_y[idx]
            if recipe.augment:
                x = random_crop_flip(x, padding=recipe.crop_padding, generator=generators["augment"])
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss, hits = run_step(x, y)
            loss_sum += loss * len(y)
            correct += hits
            if show_bar and step % 20 == 0:
                print(f"\r  epoch {epoch + 1} [{step + 1}/{steps}]", end="", file=sys.stderr, flush=True)
        if show_bar:
            print("\r", end="", file=sys.stderr)
        train_loss = loss_sum.item() / n  # .item() waits for the device: the epoch's steps are done
        train_seconds = time.perf_counter() - epoch_start
        if not math.isfinite(train_loss):
            raise TrainingError(
                f"training diverged in epoch {epoch + 1} (loss {train_loss}); the last good state is "
                f"{out_dir / ckpt_io.RESUME_FILE if epoch > 0 else 'none (first epoch)'}; lower recipe.lr"
            )
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        test_error = None
        if recipe.evaluates(epoch + 1):
            probs = predict(model, data.test_x, recipe.eval_batch_size, dev, recipe.precision, channels_last)
            test_error = classification_scores(probs, data.test_y.cpu().numpy())["test_error"]
        row = {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": 100.0 * correct.item() / n,
               "test_error": test_error, "lr": lr, "train_seconds": train_seconds,
               "seconds": time.perf_counter() - epoch_start}
        history.append(row)
        log(f"epoch {row['epoch']:>3}/{recipe.epochs}  loss {train_loss:.4f}  train acc {row['train_acc']:.2f}%  "
            f"test err {'-' if test_error is None else f'{test_error:.2f}%'}  lr {lr:.4g}  {row['seconds']:.1f}s")
        ckpt_io.save_torch(
            {"format": ckpt_io.RESUME_FORMAT, "spec_hash": ckpt_io.spec_hash(spec), "epoch": epoch + 1,
             "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "history": history, "rng": ckpt_io.rng_state(generators)},
            out_dir / ckpt_io.RESUME_FILE,
        )

    if start_epoch == recipe.epochs:  # resumed after the last epoch: nothing was scored above
        probs = predict(model, data.test_x, recipe.eval_batch_size, dev, recipe.precision, channels_last)
    labels = data.test_y.cpu().numpy().astype(np.int64)
    metrics = {
        "study": spec.get("study"), "lineage": spec.get("lineage"), "seed": spec.get("seed"), "member": spec.get("member"),
        "task": "image", "model": model_info["name"], "objective": spec["objective"]["name"], "dataset": data.name,
        "num_params": num_parameters(model), "epochs": recipe.epochs, "wall_seconds": time.perf_counter() - started,
        "history": history, **classification_scores(probs, labels),
    }
    ckpt_io.save_member(out_dir, model, model_info, data.name, spec, metrics, {"probs": probs, "labels": labels})
    log(f"done: test error {metrics['test_error']:.2f}%  nll {metrics['test_nll']:.4f}  ece {metrics['test_ece']:.2f}%  "
        f"({metrics['wall_seconds']:.1f}s)")
    return metrics
