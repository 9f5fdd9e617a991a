"""The image classification task: recipe, epoch loop and scoring.

An epoch draws batches from the device-resident training tensors in a seeded random order,
augments each with batched tensor ops (``ban.augment``), runs the teacher (eval mode, no
gradients, fp32 on every device) on the same augmented batch when the objective needs one, and takes an SGD step on
``objective(student(x), teacher(x), y)`` (``ban.step``: on CUDA, full-batch steps are replayed
from a CUDA graph). The test set is scored after every ``eval_every``-th epoch and the last.
``ban.lifecycle`` runs the lifecycle around it (seeding, resume, checkpoints, final files).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ban import checkpoint as ckpt_io
from ban.augment import random_crop_flip
from ban.collapse import collapse_scores
from ban.metrics import classification_scores, error_percent
from ban.models import build_model
from ban.runtime import autocast, precision_in_effect
from ban.seeds import stream_seed
from ban.sgd import SGD
from ban.step import Stepper, make_step
from ban.tasks.recipe import ImageRecipe, require

Recipe = ImageRecipe
"""The task interface's name for the recipe (``ban.tasks``)."""


def check_data(recipe: Recipe, data) -> None:
    """What the recipe asks of the data: ``select: best_val`` needs a validation split, and
    ``batch_size`` at most the training images (after ``train_subset`` and ``val_split``): a larger
    one would silently train on the whole set in one step per epoch."""
    require(recipe.select != "best_val" or data.val_x is not None,
            "recipe.select: best_val chooses the epoch on the validation split; set dataset.val_split (e.g. 0.1)")
    n_train = len(data.train_y)
    require(recipe.batch_size <= n_train,
            f"recipe.batch_size = {recipe.batch_size} is larger than the {n_train} training images of {data.name} "
            "(after dataset.train_subset and val_split); allowed: 1 to the training set's size")


def use_cuda_graphs(recipe: Recipe, device: torch.device, objective) -> bool:
    """Replay full-batch steps from a CUDA graph (``ban.step``): on CUDA unless switched off, and
    never for objectives with their own random generator (DKPP)."""
    return recipe.cuda_graphs in (True, "auto") and device.type == "cuda" and not objective.uses_generator


def use_channels_last(recipe: Recipe) -> bool:
    """channels_last memory format: on by default (measured 1.6–2.5× faster for the small CNN on CPU)."""
    return recipe.channels_last in (True, "auto")


@torch.inference_mode()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int, device: torch.device, precision: str,
            channels_last: bool) -> np.ndarray:
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


def score(model: torch.nn.Module, data, recipe: dict, device: torch.device) -> tuple[dict, dict]:
    """``(scores, predictions)`` of a model that is not trained here, in fp32: the scores of
    ``ban.metrics.classification_scores`` on the test split, ``train_error``, and ``{"probs", "labels"}``."""
    batch_size = Recipe.from_dict(recipe).eval_batch_size
    probs = predict(model, data.test_x.to(device), batch_size, device, "fp32", False)
    labels = data.test_y.cpu().numpy().astype(np.int64)
    scores = {**classification_scores(probs, labels), **train_scores(model, data, batch_size, device),
              **val_scores(model, data, batch_size, device, False)}
    return scores, {"probs": probs, "labels": labels}


def model_info(spec: dict, data) -> dict:
    """The ``model`` entry of model.pt: the spec's architecture and the data's shapes."""
    return {"name": spec["model"]["name"], "args": spec["model"].get("args", {}), "in_channels": data.in_channels,
            "num_classes": data.num_classes}


def build(info: dict, data) -> torch.nn.Module:
    """A fresh (randomly initialised) model of ``info``, every parameter sized for ``data``'s images."""
    return build_model(info["name"], info["in_channels"], info["num_classes"], input_shape=tuple(data.train_x.shape[1:]),
                       **info["args"])


def prepare(model: torch.nn.Module, recipe: Recipe, device: torch.device) -> torch.nn.Module:
    """``model`` on ``device``, in channels_last when the recipe says so."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if use_channels_last(recipe) else model


def load_teacher(path: Path, data, recipe: Recipe, device: torch.device) -> torch.nn.Module:
    """The frozen teacher of a student run: eval mode, no gradients, on ``device``."""
    ckpt = ckpt_io.load_model_checkpoint(path, dataset=data.name, num_classes=data.num_classes)
    teacher = ckpt_io.build_from_checkpoint(ckpt, path).to(device).eval().requires_grad_(False)
    return teacher.to(memory_format=torch.channels_last) if use_channels_last(recipe) else teacher


def parameter_groups(model: torch.nn.Module, recipe: Recipe) -> list[dict]:
    """SGD parameter groups: one group decayed by ``weight_decay`` (every parameter), or with
    ``decay_norm_and_bias: false`` a second group of the 1-D parameters with weight decay 0."""
    if recipe.decay_norm_and_bias:
        return [{"params": list(model.parameters()), "weight_decay": recipe.weight_decay}]
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def uses_bf16(device: torch.device, precision: str) -> bool:
    """Whether ``precision`` runs the model in bf16 on ``device`` (``ban.runtime.autocast``)."""
    return precision_in_effect(device, precision) == "bf16"


def train_scores(model: torch.nn.Module, data, batch_size: int, device: torch.device) -> dict:
    """``train_error``: error (%) on the training split against the labels it trained on, in eval
    mode, fp32, without augmentation — whether the model fits its training data (the per-epoch
    ``train_acc`` is a running mean on augmented batches). With label noise (``data.clean_train_y``)
    also ``train_error_clean`` (against the clean labels), ``label_noise_rate`` (% of training
    labels that are corrupted) and ``noise_memorised`` (% of the corrupted examples predicted as
    their corrupted label: 100 means the model memorised the noise)."""
    probs = predict(model, data.train_x.to(device), batch_size, device, "fp32", False)
    labels = data.train_y.cpu().numpy()
    scores = {"train_error": error_percent(probs, labels)}
    if data.clean_train_y is not None:
        clean = data.clean_train_y.cpu().numpy()
        corrupted = labels != clean
        scores["train_error_clean"] = error_percent(probs, clean)
        scores["label_noise_rate"] = float(100.0 * corrupted.mean())
        scores["noise_memorised"] = (float(100.0 * (probs[corrupted].argmax(axis=1) == labels[corrupted]).mean())
                                     if corrupted.any() else 0.0)
    return scores


def val_scores(model: torch.nn.Module, data, batch_size: int, device: torch.device, channels_last: bool) -> dict:
    """``{"val_error"}``: error (%) of ``model`` on the validation split (``dataset.val_split``)
    against its labels as the study gives them (noisy under label noise), in eval mode, fp32, no
    augmentation and no random draws; ``{}`` when the data has no validation split."""
    if data.val_x is None:
        return {}
    probs = predict(model, data.val_x.to(device), batch_size, device, "fp32", channels_last)
    return {"val_error": error_percent(probs, data.val_y.cpu().numpy())}


class Loop:
    """The image epoch loop of one member (see the module docstring).

    Random streams (``ban.seeds``, each seeded from ``seed``, the member's training seed):
    ``shuffle`` (batch order), ``augment`` (crops and flips) and ``objective`` (DKPP's
    permutations); for objectives that read per-example keys, a ``[N, classes]`` table of uniform
    numbers drawn once from ``example_keys`` (fixed for the run, so it needs no resume state)."""

    divergence_hint = "lower recipe.lr"

    def __init__(self, model, teacher, objective, objective_args: dict, recipe: Recipe, data, device: torch.device, seed: int):
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed batch shapes: let cuDNN pick the fastest kernels
        self.model, self.recipe, self.data, self.device = model, recipe, data, device
        self.has_teacher = teacher is not None
        self.channels_last = use_channels_last(recipe)
        self.optimizer = SGD(parameter_groups(model, recipe), lr=recipe.lr * recipe.lr_factor(0), momentum=recipe.momentum,
                             nesterov=recipe.nesterov)
        self.generators = {
            name: torch.Generator(device=device).manual_seed(stream_seed(seed, name)) for name in ("shuffle", "augment", "objective")
        }
        self.run_step = Stepper(
            make_step(model, teacher, objective, objective_args, self.optimizer, device, recipe.precision, self.generators["objective"]),
            self.optimizer, recipe.batch_size, graphs=use_cuda_graphs(recipe, device, objective),
        )
        self.example_keys = None
        if objective.uses_example_keys:
            keys_generator = torch.Generator(device=device).manual_seed(stream_seed(seed, "example_keys"))
            self.example_keys = torch.rand(len(data.train_y), data.num_classes, generator=keys_generator, device=device)
        self.probs: np.ndarray | None = None
        self.probs_fp32 = not uses_bf16(device, recipe.precision)
        check_data(recipe, data)
        self.best: dict | None = None  # select: best_val — {"epoch", "val_error", "model"} of the best epoch so far

    def describe(self) -> str:
        return " (CUDA graphs)" if self.run_step.graphs else ""

    def state_dict(self) -> dict:
        state = {"optimizer": self.optimizer.state_dict()}
        if self.best is not None:
            state["best"] = self.best
        return state

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.best = state.get("best")

    def train_epoch(self, epoch: int) -> dict:
        """One epoch of SGD steps; ``{"train_loss", "train_acc", "train_seconds"}`` (mean loss per
        sample), and for students ``teacher_max_prob`` and ``teacher_entropy``: the means over the
        epoch's samples of the teacher's max probability and entropy (nats) on the augmented views
        the student trained on (``ban.step.teacher_confidence``)."""
        started = time.perf_counter()
        recipe, data, model = self.recipe, self.data, self.model
        model.train()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        confidence = torch.zeros(2, device=self.device)
        n = len(data.train_y)
        steps = math.ceil(n / recipe.batch_size)
        order = torch.randperm(n, device=self.device, generator=self.generators["shuffle"])
        show_bar = sys.stderr.isatty()
        for step in range(steps):
            idx = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            x, y = data.train_x[idx], data.train_y[idx]
            if recipe.augment:
                x = random_crop_flip(x, padding=recipe.crop_padding, generator=self.generators["augment"])
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss, hits, teacher_sums = self.run_step(x, y, None if self.example_keys is None else self.example_keys[idx])
            loss_sum += loss * len(y)
            correct += hits
            confidence += teacher_sums
            if show_bar and step % 20 == 0:
                print(f"\r  epoch {epoch + 1} [{step + 1}/{steps}]", end="", file=sys.stderr, flush=True)
        if show_bar:
            print("\r", end="", file=sys.stderr)
        train_loss = loss_sum.item() / n  # .item() waits for the device: the epoch's steps are done
        row = {"train_loss": train_loss, "train_acc": 100.0 * correct.item() / n, "train_seconds": time.perf_counter() - started}
        if self.has_teacher:
            max_prob, entropy = confidence.tolist()
            row.update(teacher_max_prob=max_prob / n, teacher_entropy=entropy / n)
        return row

    def end_epoch(self, epoch: int, row: dict, history: list[dict]) -> dict:
        """After a finite epoch: set the next epoch's rate, ``lr × lr_factor(epoch + 1)``, score the
        test set when the recipe says so, and with ``select: best_val`` score the validation split
        and keep the best weights."""
        row["lr"] = self.optimizer.param_groups[0]["lr"]
        for group in self.optimizer.param_groups:
            group["lr"] = self.recipe.lr * self.recipe.lr_factor(epoch + 1)
        if self.recipe.select == "best_val":
            val_probs = predict(self.model, self.data.val_x, self.recipe.eval_batch_size, self.device, "fp32", self.channels_last)
            row["val_error"] = error_percent(val_probs, self.data.val_y.cpu().numpy())
            if self.best is None or row["val_error"] < self.best["val_error"]:
                state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                self.best = {"epoch": epoch + 1, "val_error": row["val_error"], "model": state}
        row["test_error"] = None
        if self.recipe.evaluates(epoch + 1):
            self.probs = self.predict_test(self.recipe.precision)
            row["test_error"] = classification_scores(self.probs, self.data.test_y.cpu().numpy())["test_error"]
        return row

    @staticmethod
    def epoch_line(row: dict, epochs: int) -> str:
        test_error = "-" if row["test_error"] is None else f"{row['test_error']:.2f}%"
        return (f"epoch {row['epoch']:>3}/{epochs}  loss {row['train_loss']:.4f}  train acc {row['train_acc']:.2f}%  "
                f"test err {test_error}  lr {row['lr']:.4g}  {row['seconds']:.1f}s")

    def predict_test(self, precision: str) -> np.ndarray:
        return predict(self.model, self.data.test_x, self.recipe.eval_batch_size, self.device, precision, self.channels_last)

    def final_scores(self, history: list[dict]) -> tuple[dict, dict]:
        """``(scores, predictions)`` of the trained model in fp32 on every device: the last epoch's
        test predictions when they were fp32 already (scored again when they were bf16, or the run
        resumed after its last epoch), plus the training-set scores of ``train_scores``, with a
        validation split the kept weights' ``val_error`` (``val_scores``), and ``collapsed`` /
        ``collapse_reasons`` (``ban.collapse``: chance train error, one predicted class, a training
        loss that never fell below ``history``'s first epoch). With ``select: best_val`` the model
        first takes the best epoch's weights (scored afresh), and the scores add ``selected_epoch``
        and ``selected_val_error`` (equal to ``val_error``)."""
        selected = {}
        if self.best is not None:  # select: best_val — the best epoch's weights are the member's
            self.model.load_state_dict(self.best["model"])
            self.probs = None
            selected = {"selected_epoch": self.best["epoch"], "selected_val_error": self.best["val_error"]}
        if self.probs is None or not self.probs_fp32:
            self.probs = self.predict_test("fp32")
        labels = self.data.test_y.cpu().numpy().astype(np.int64)
        scores = {**classification_scores(self.probs, labels), **selected}
        scores.update(train_scores(self.model, self.data, self.recipe.eval_batch_size, self.device))
        scores.update(val_scores(self.model, self.data, self.recipe.eval_batch_size, self.device, self.channels_last))
        scores.update(collapse_scores(scores, history, self.data.num_classes, self.probs.argmax(axis=1)))
        return scores, {"probs": self.probs, "labels": labels}
