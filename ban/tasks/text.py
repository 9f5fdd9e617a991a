"""The language-modelling task: truncated BPTT with SGD, for teachers and students alike.

The training stream is laid out as ``[T, batch_size]`` (``batchify``) and read in windows of
``bptt`` steps, in order; the LSTM state is carried from window to window (detached) and reset to
zero at each epoch start. A student's teacher (eval mode, no gradients, fp32) reads the same windows
with its own carried state, and the objective compares them per time step on logits flattened to
``[t · B, V]``. The window's loss is that per-token mean, times ``t`` when ``sum_over_steps`` (the
loss of Zaremba et al. 2014 and Kim et al. 2016, for which their lr of 1 is set). Gradients are
clipped to global norm ``clip``.

Plateau schedule (Kim et al.): after an epoch, if the validation perplexity did not improve on the
previous epoch's by more than ``plateau_threshold`` (``prev − ppl ≤ 0`` or ``< threshold``), the lr is
multiplied by ``plateau_factor``.

Perplexity = ``exp(mean NLL per token)`` over every position of the split (batchified with
``eval_batch_size``, so the last ``len mod eval_batch_size`` tokens are dropped), the state carried
across windows. Predictions (``predictions.npz``): ``target_probs`` and ``val_target_probs``, the
probability of each true next token. ``ban.lifecycle`` runs the lifecycle around the loop.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ban import checkpoint as ckpt_io
from ban.collapse import collapse_scores
from ban.datasets.text import TextData, batchify, bptt_windows, num_windows
from ban.models import build_model
from ban.models.lm import detach_hidden
from ban.runtime import TrainingError, autocast
from ban.seeds import stream_seed
from ban.sgd import SGD
from ban.step import teacher_confidence
from ban.tasks.recipe import TextRecipe

PROB_FLOOR = float(np.finfo(np.float32).tiny)
"""Smallest probability stored in predictions.npz (keeps ``log`` finite in ensembles)."""


Recipe = TextRecipe
"""The task interface's name for the recipe (``ban.tasks``)."""


MAX_LOG = math.log(np.finfo(np.float64).max)
"""The largest mean NLL whose perplexity is a float (about 709.8)."""


def perplexity(mean_nll: float) -> float:
    """``exp(mean NLL per token)``; a uniform model over ``V`` words has perplexity ``V``; ``inf``
    where it exceeds the largest float (a mean NLL above about 709.8)."""
    return math.exp(mean_nll) if mean_nll < MAX_LOG else math.inf


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
        with autocast(tokens.device, precision, auto_bf16=False):
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


def score(model: torch.nn.Module, data: TextData, recipe: dict, device: torch.device) -> tuple[dict, dict]:
    """``(scores, predictions)`` of a model that is not trained here (``text_scores`` in fp32)."""
    text_recipe = TextRecipe.from_dict(recipe)
    return text_scores(model, data.to(device), text_recipe.eval_batch_size, text_recipe.bptt)


def model_info(spec: dict, data: TextData) -> dict:
    """The ``model`` entry of model.pt: the spec's args plus what the architecture needs from the data."""
    args = dict(spec["model"].get("args", {}))
    if spec["model"]["name"] == "cnn-lstm":
        args.update(num_chars=data.num_chars, max_word_len=data.max_word_len)
    return {"name": spec["model"]["name"], "args": args, "in_channels": 0, "num_classes": data.vocab_size}


def build(info: dict, data: TextData) -> torch.nn.Module:
    """A fresh model of ``info``; a character-aware model gets the vocabulary's spellings."""
    model = build_model(info["name"], 0, info["num_classes"], **info["args"])
    if hasattr(model, "set_word_chars"):
        model.set_word_chars(data.word_chars)
    return model


def prepare(model: torch.nn.Module, recipe: TextRecipe, device: torch.device) -> torch.nn.Module:
    return model.to(device)


def load_teacher(path: Path, data: TextData, recipe: TextRecipe, device: torch.device) -> torch.nn.Module:
    """The frozen teacher of a student run: eval mode, no gradients, on ``device``."""
    ckpt = ckpt_io.load_model_checkpoint(path, dataset=data.name, num_classes=data.vocab_size)
    return ckpt_io.build_from_checkpoint(ckpt, path).to(device).eval().requires_grad_(False)


class Loop:
    """The language-model epoch loop of one member (see the module docstring).

    Random stream: ``objective`` (DKPP's permutations), seeded from the member's training seed
    (``ban.seeds``)."""

    divergence_hint = "lower recipe.lr or recipe.clip"

    def __init__(self, model, teacher, objective, objective_args: dict, recipe: TextRecipe, data: TextData,
                 device: torch.device, seed: int):
        self.model, self.teacher, self.objective, self.objective_args = model, teacher, objective, objective_args
        self.recipe, self.data, self.device = recipe, data, device
        self.optimizer = SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
        self.generators = {"objective": torch.Generator(device=device).manual_seed(stream_seed(seed, "objective"))}
        self.train_batched = batchify(data.train, recipe.batch_size)
        self.windows = num_windows(self.train_batched, recipe.bptt)

    def describe(self) -> str:
        return ""

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the training stream; ``{"train_loss"}`` (mean loss per token), and for
        students ``teacher_max_prob`` and ``teacher_entropy``: the means over the epoch's tokens of
        the teacher's max probability and entropy (nats; ``ban.step.teacher_confidence``)."""
        recipe, model, teacher, dev = self.recipe, self.model, self.teacher, self.device
        model.train()
        hidden = None
        teacher_hidden = None
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
        confidence = torch.zeros(2, device=dev)
        for inputs, targets in bptt_windows(self.train_batched, recipe.bptt):
            flat_targets = targets.reshape(-1)
            teacher_logits = None
            if teacher is not None:
                with torch.inference_mode():  # fp32 targets on every device and precision
                    teacher_out, teacher_hidden = teacher(inputs, teacher_hidden)
                teacher_logits = teacher_out.reshape(flat_targets.numel(), -1).clone()
                confidence += teacher_confidence(teacher_logits)
            with autocast(dev, recipe.precision, auto_bf16=False):
                logits, hidden = model(inputs, hidden)
                flat_logits = logits.reshape(flat_targets.numel(), -1)
                loss = self.objective(flat_logits, teacher_logits, flat_targets, generator=self.generators["objective"],
                                      **self.objective_args)
            hidden = detach_hidden(hidden)
            self.optimizer.zero_grad(set_to_none=True)
            (loss * inputs.shape[0] if recipe.sum_over_steps else loss).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
            self.optimizer.step()
            loss_sum += loss.detach().double() * flat_targets.numel()
        train_tokens = (self.train_batched.shape[0] - 1) * recipe.batch_size
        row = {"train_loss": loss_sum.item() / train_tokens}
        if teacher is not None:
            max_prob, entropy = confidence.tolist()
            row.update(teacher_max_prob=max_prob / train_tokens, teacher_entropy=entropy / train_tokens)
        return row

    def end_epoch(self, epoch: int, row: dict, history: list[dict]) -> dict:
        """After a finite epoch: score validation perplexity and apply the plateau schedule."""
        row["lr"] = self.optimizer.param_groups[0]["lr"]
        val_nll, _ = evaluate(self.model, self.data.val, self.recipe.eval_batch_size, self.recipe.bptt, self.recipe.precision)
        row["val_ppl"] = perplexity(val_nll)
        if not math.isfinite(row["val_ppl"]):
            raise TrainingError(f"training diverged in epoch {epoch + 1} (validation perplexity exp({val_nll:.4g}) is not a "
                                f"finite number); {self.divergence_hint}")
        if self.recipe.decays(history[-1]["val_ppl"] if history else None, row["val_ppl"]):
            for group in self.optimizer.param_groups:
                group["lr"] *= self.recipe.plateau_factor
        return row

    def epoch_line(self, row: dict, epochs: int) -> str:
        return (f"epoch {row['epoch']:>3}/{epochs}  loss {row['train_loss']:.4f}  val ppl {row['val_ppl']:.2f}  "
                f"lr {row['lr']:.4g}  {row['seconds']:.1f}s ({self.windows} windows)")

    def final_scores(self, history: list[dict]) -> tuple[dict, dict]:
        """``(scores, predictions)`` of the trained model on val and test (``text_scores``), in fp32
        whatever the training precision, and ``collapsed`` / ``collapse_reasons`` (``ban.collapse``:
        only its rule on the training loss applies, a loss that never fell below ``history``'s
        first epoch; the predictions hold no argmax and there is no training error)."""
        scores, predictions = text_scores(self.model, self.data, self.recipe.eval_batch_size, self.recipe.bptt, "fp32")
        scores.update(collapse_scores({}, history, self.data.vocab_size, None))
        return scores, predictions
