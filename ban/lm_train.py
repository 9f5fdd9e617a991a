"""The language-model trainer: truncated BPTT with SGD, for teachers and students alike.

The training stream is laid out as ``[T, batch_size]`` (``batchify``) and read in windows of
``bptt`` steps, in order; the LSTM state is carried from window to window (detached) and reset to
zero at each epoch start. A student's teacher (eval mode, no gradients) reads the same windows
with its own carried state, and the objective compares them per time step on logits flattened to
``[t · B, V]``. The window's loss is that per-token mean, times ``t`` when ``sum_over_steps`` (the
loss of Zaremba et al. 2014 and Kim et al. 2016, for which their lr of 1 is set). Gradients are
clipped to global norm ``clip``.

Plateau schedule (Kim et al.): after an epoch, if the validation perplexity did not improve on the
previous epoch's by more than ``plateau_threshold`` (``prev − ppl ≤ 0`` or ``< threshold``), the lr is
multiplied by ``plateau_factor``.

Perplexity = ``exp(mean NLL per token)`` over every position of the split (batchified with
``eval_batch_size``, so the last ``len mod eval_batch_size`` tokens are dropped), the state carried
across windows. After every epoch a resume checkpoint is written; a rerun continues from the last
finished epoch with identical results. ``model.pt``, ``predictions.npz`` (``target_probs``,
``val_target_probs``: the probability of each true next token) and ``metrics.json`` appear only at
the end (``metrics.json`` last).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ban import checkpoint as ckpt_io
from ban.models import build_model, num_parameters
from ban.models.lm import detach_hidden
from ban.objectives import get_objective
from ban.text import TextData, batchify, bptt_windows, num_windows

PROB_FLOOR = float(np.finfo(np.float32).tiny)
"""Smallest probability stored in predictions.npz (keeps ``log`` finite in ensembles)."""


@dataclass
class TextRecipe:
    """SGD recipe of a language model; defaults are the paper's LSTM recipe (batch 32, lr 1 × 0.25 on plateau)."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 1.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    bptt: int = 35
    clip: float = 5.0
    sum_over_steps: bool = True
    schedule: str = "plateau"
    plateau_factor: float = 0.25
    plateau_threshold: float = 0.0
    eval_batch_size: int = 10
    precision: str = "fp32"

    @classmethod
    def from_dict(cls, values: dict) -> "TextRecipe":
        from ban.train import TrainingError

        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TrainingError(f"unknown text recipe key(s) {unknown}; valid: {sorted(known)}")
        recipe = cls(**values)
        if not isinstance(recipe.epochs, int) or recipe.epochs < 1:
            raise TrainingError(f"recipe.epochs must be a positive integer, got {recipe.epochs!r}")
        if min(recipe.batch_size, recipe.bptt, recipe.eval_batch_size) < 1 or recipe.lr <= 0 or recipe.clip <= 0:
            raise TrainingError("recipe.batch_size, bptt, eval_batch_size, lr and clip must be positive")
        if recipe.schedule not in ("plateau", "constant"):
            raise TrainingError(f"text recipe.schedule must be plateau or constant, got {recipe.schedule!r}")
        if not 0 < recipe.plateau_factor <= 1 or recipe.plateau_threshold < 0:
            raise TrainingError("recipe.plateau_factor must be in (0, 1] and plateau_threshold >= 0")
        if recipe.precision not in ("auto", "fp32", "bf16"):
            raise TrainingError(f"recipe.precision must be one of auto, fp32, bf16; got {recipe.precision!r}")
        return recipe

    def decays(self, previous_ppl: Optional[float], ppl: float) -> bool:
        """Whether the lr is multiplied by ``plateau_factor`` after an epoch ending at ``ppl``."""
        if self.schedule != "plateau" or previous_ppl is None:
            return False
        improvement = previous_ppl - ppl
        return improvement <= 0 or improvement < self.plateau_threshold


def text_autocast(device: torch.device, precision: str):
    """bf16 autocast only when asked for (``auto`` is fp32 for language models)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def perplexity(mean_nll: float) -> float:
    """``exp(mean NLL per token)``; a uniform model over ``V`` words has perplexity ``V``."""
    return math.exp(mean_nll)


@torch.inference_mode()
def evaluate(model: torch.nn.Module, tokens: torch.Tensor, batch_size: int, bptt: int, precision: str = "fp32") -> tuple[float, np.ndarray]:
    """``(mean NLL per token, target_probs)`` of ``model`` (eval mode) on a token stream.

    The log-softmax is taken in float64, so a uniform model scores exactly ``log V``.
    ``target_probs`` float32 ``[N]``: for each window in order, the ``[t, B]`` probabilities of
    the true next tokens flattened row-major (floored at the smallest normal float32)."""
    model.eval()
    batched = batchify(tokens, batch_size)
    hidden = None
    nll_sum = torch.zeros((), dtype=torch.float64, device=tokens.device)
    probs = []
    for inputs, targets in bptt_windows(batched, bptt):
        with text_autocast(tokens.device, precision):
            logits, hidden = model(inputs, hidden)
        log_probs = torch.log_softmax(logits.double(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        nll_sum -= log_probs.sum()
        probs.append(log_probs.exp().clamp_min(PROB_FLOOR).reshape(-1))
    count = (batched.shape[0] - 1) * batched.shape[1]
    return nll_sum.item() / count, torch.cat(probs).cpu().numpy().astype(np.float32)


def text_scores(model: torch.nn.Module, data: TextData, batch_size: int = 10, bptt: int = 35, precision: str = "fp32") -> tuple[dict, dict]:
    """``({"val_ppl", "test_ppl", "test_nll"}, {"target_probs", "val_target_probs"})`` of ``model``."""
    val_nll, val_probs = evaluate(model, data.val, batch_size, bptt, precision)
    test_nll, test_probs = evaluate(model, data.test, batch_size, bptt, precision)
    scores = {"val_ppl": perplexity(val_nll), "test_ppl": perplexity(test_nll), "test_nll": test_nll}
    return scores, {"target_probs": test_probs, "val_target_probs": val_probs}


def model_info_for(spec: dict, data: TextData) -> dict:
    """The ``model`` entry of model.pt: the spec's args plus what the architecture needs from the data."""
    args = dict(spec["model"].get("args", {}))
    if spec["model"]["name"] == "cnn-lstm":
        args.update(num_chars=data.num_chars, max_word_len=data.max_word_len)
    return {"name": spec["model"]["name"], "args": args, "in_channels": 0, "num_classes": data.vocab_size}


def build_text_model(model_info: dict, data: TextData) -> torch.nn.Module:
    model = build_model(model_info["name"], 0, model_info["num_classes"], **model_info["args"])
    if hasattr(model, "set_word_chars"):
        model.set_word_chars(data.word_chars)
    return model


def check_text_spec(spec: dict, data: TextData) -> None:
    """Raise a one-line ``ValueError`` when ``spec`` cannot train on ``data`` (bad recipe, or model
    arguments the architecture rejects); the model is built on the meta device (no memory)."""
    TextRecipe.from_dict(spec["recipe"])
    info = model_info_for(spec, data)
    with torch.device("meta"):
        build_model(info["name"], 0, info["num_classes"], **info["args"])


def load_text_teacher(path: Path, data: TextData, device: torch.device) -> torch.nn.Module:
    """The frozen teacher of a student run: eval mode, no gradients, on ``device``."""
    ckpt = ckpt_io.load_model_checkpoint(path, dataset=data.name, num_classes=data.vocab_size)
    return ckpt_io.build_from_checkpoint(ckpt, path).to(device).eval().requires_grad_(False)


def train_text(
    spec: dict,
    out_dir: Path,
    teacher_path: Path | None = None,
    device: str = "auto",
    log: Callable[[str], None] = print,
    data: TextData | None = None,
) -> dict:
    """Train the language model ``spec`` describes into ``out_dir``; return its metrics (see module doc).

    ``data`` is the spec's dataset when the caller has loaded it already."""
    from ban.data import load_dataset
    from ban.train import TrainingError, resolve_device

    out_dir = Path(out_dir)
    started = time.perf_counter()
    recipe = TextRecipe.from_dict(spec["recipe"])
    objective = get_objective(spec["objective"]["name"])
    objective_args = spec["objective"].get("args", {})
    if objective.needs_teacher and teacher_path is None:
        raise TrainingError(f"objective {spec['objective']['name']!r} needs a teacher checkpoint (--teacher)")
    dev = resolve_device(device)
    if data is None:
        data = load_dataset(**spec["dataset"])
    if getattr(data, "kind", None) != "text":
        raise TrainingError(f"dataset {spec['dataset'].get('name')!r} is not a text dataset")
    data = data.to(dev)
    teacher = load_text_teacher(teacher_path, data, dev) if objective.needs_teacher else None

    seed = int(spec["train_seed"])
    torch.manual_seed(seed)
    model_info = model_info_for(spec, data)
    model = build_text_model(model_info, data).to(dev)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    generators = {"objective": torch.Generator(device=dev).manual_seed(seed + 3)}

    history: list[dict] = []
    start_epoch = 0
    resumed = ckpt_io.load_resume(out_dir, spec)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        ckpt_io.set_rng_state(resumed["rng"], generators)
        history, start_epoch = resumed["history"], resumed["epoch"]
        log(f"resumed from epoch {start_epoch} ({out_dir / ckpt_io.RESUME_FILE})")
    log(f"train {spec.get('member', '?')}: {model_info['name']} ({num_parameters(model):,} params) on {data.name} "
        f"({data.train.numel():,} train tokens, {data.vocab_size} words), objective {spec['objective']['name']}, "
        f"{recipe.epochs} epochs, device {dev}, seed {seed}")

    train_batched = batchify(data.train, recipe.batch_size)
    windows = num_windows(train_batched, recipe.bptt)
    train_tokens = (train_batched.shape[0] - 1) * recipe.batch_size
    for epoch in range(start_epoch, recipe.epochs):
        epoch_start = time.perf_counter()
        model.train()
        hidden = None
        teacher_hidden = None
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
        for inputs, targets in bptt_windows(train_batched, recipe.bptt):
            flat_targets = targets.reshape(-1)
            teacher_logits = None
            if teacher is not None:
                with torch.inference_mode(), text_autocast(dev, recipe.precision):
                    teacher_out, teacher_hidden = teacher(inputs, teacher_hidden)
                teacher_logits = teacher_out.reshape(flat_targets.numel(), -1).clone()
            with text_autocast(dev, recipe.precision):
                logits, hidden = model(inputs, hidden)
                flat_logits = logits.reshape(flat_targets.numel(), -1)
                loss = objective(flat_logits, teacher_logits, flat_targets, generator=generators["objective"], **objective_args)
            hidden = detach_hidden(hidden)
            optimizer.zero_grad(set_to_none=True)
            (loss * inputs.shape[0] if recipe.sum_over_steps else loss).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
            optimizer.step()
            loss_sum += loss.detach().double() * flat_targets.numel()
        train_loss = loss_sum.item() / train_tokens
        if not math.isfinite(train_loss):
            raise TrainingError(
                f"training diverged in epoch {epoch + 1} (loss {train_loss}); the last good state is "
                f"{out_dir / ckpt_io.RESUME_FILE if epoch > 0 else 'none (first epoch)'}; lower recipe.lr or recipe.clip"
            )
        lr = optimizer.param_groups[0]["lr"]
        val_nll, _ = evaluate(model, data.val, recipe.eval_batch_size, recipe.bptt, recipe.precision)
        row = {"epoch": epoch + 1, "train_loss": train_loss, "val_ppl": perplexity(val_nll), "lr": lr,
               "seconds": time.perf_counter() - epoch_start}
        if recipe.decays(history[-1]["val_ppl"] if history else None, row["val_ppl"]):
            for group in optimizer.param_groups:
                group["lr"] *= recipe.plateau_factor
        history.append(row)
        log(f"epoch {row['epoch']:>3}/{recipe.epochs}  loss {train_loss:.4f}  val ppl {row['val_ppl']:.2f}  "
            f"lr {lr:.4g}  {row['seconds']:.1f}s ({windows} windows)")
        ckpt_io.save_torch(
            {"format": ckpt_io.RESUME_FORMAT, "spec_hash": ckpt_io.spec_hash(spec), "epoch": epoch + 1,
             "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": {},
             "history": history, "rng": ckpt_io.rng_state(generators)},
            out_dir / ckpt_io.RESUME_FILE,
        )

    scores, predictions = text_scores(model, data, recipe.eval_batch_size, recipe.bptt, recipe.precision)
    metrics = {
        "study": spec.get("study"), "lineage": spec.get("lineage"), "seed": spec.get("seed"), "member": spec.get("member"),
        "task": "text", "model": model_info["name"], "objective": spec["objective"]["name"], "dataset": data.name,
        "num_params": num_parameters(model), "epochs": recipe.epochs, "wall_seconds": time.perf_counter() - started,
        "history": history, **scores,
    }
    ckpt_io.save_member(out_dir, model, model_info, data.name, spec, metrics, predictions)
    log(f"done: val ppl {metrics['val_ppl']:.2f}  test ppl {metrics['test_ppl']:.2f}  ({metrics['wall_seconds']:.1f}s)")
    return metrics
