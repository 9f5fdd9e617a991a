"""The language-model trainer on a tiny synthetic PTB-format corpus (lstm-16, a few seconds each)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from ban import checkpoint as ckpt_io
from ban.datasets.text import batchify, load_synthetic_text
from ban.ensemble import ensemble
from ban.lifecycle import run_member
from ban.models import build_model
from ban.runtime import TrainingError
from ban.tasks.text import TextRecipe, evaluate, perplexity

DATASET = {"name": "synthetic_text", "root": "unused", "download": False, "words": 30, "train_lines": 150,
           "valid_lines": 30, "test_lines": 30}
RECIPE = {"epochs": 2, "batch_size": 8, "bptt": 12, "lr": 1.0, "clip": 5.0, "eval_batch_size": 4}


def make_spec(member="gen0", objective="ce", model="lstm-16", args=None, **recipe):
    return {
        "study": "lm_test", "lineage": "lstm", "seed": 0, "member": member,
        "dataset": DATASET,
        "model": {"name": model, "args": {"dropout": 0.0} if args is None else args},
        "objective": {"name": objective, "args": {}},
        "recipe": {**RECIPE, **recipe},
        "train_seed": {"gen0": 11, "gen1": 12, "ban_l": 13}.get(member, 14),
    }


def quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen0")
    lines = []
    metrics = run_member(make_spec(), out, None, "cpu", log=lines.append)
    return out, metrics, lines


def test_uniform_model_has_perplexity_vocab_size():
    vocab = 37
    model = build_model("lstm-8", 0, vocab)
    with torch.no_grad():
        model.embedding.weight.zero_()  # tied: the decoder weight is zero too
        model.decoder.bias.zero_()
    tokens = torch.randint(0, vocab, (503,), generator=torch.Generator().manual_seed(0))
    nll, target_probs = evaluate(model, tokens, batch_size=5, bptt=7)
    assert perplexity(nll) == pytest.approx(vocab, rel=1e-9)
    assert target_probs.shape == ((503 // 5 - 1) * 5,)
    np.testing.assert_allclose(target_probs, 1.0 / vocab, rtol=1e-6)


def test_evaluate_scores_every_next_token_once():
    data = load_synthetic_text(words=10, train_lines=10, valid_lines=5, test_lines=5)
    torch.manual_seed(0)
    model = build_model("lstm-8", 0, data.vocab_size)
    nll, probs = evaluate(model, data.train, batch_size=3, bptt=5)
    batched = batchify(data.train, 3)
    with torch.no_grad():
        logits, _ = model.eval()(batched[:-1])  # one window of the whole stream
    expected = torch.log_softmax(logits, -1).gather(-1, batched[1:].unsqueeze(-1)).squeeze(-1)
    assert nll == pytest.approx(-expected.double().mean().item(), rel=1e-5)
    np.testing.assert_allclose(probs, expected.exp().reshape(-1).numpy(), rtol=1e-4)


def test_teacher_writes_the_contract_files(teacher):
    out, metrics, lines = teacher
    assert {p.name for p in out.iterdir()} == {"model.pt", "metrics.json", "predictions.npz", ".writer.lock"}
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["task"] == "text" and saved["member"] == "gen0" and saved["dataset"] == "synthetic_text"
    assert saved["epochs"] == 2 and len(saved["history"]) == 2 and saved["num_params"] > 0
    assert set(saved["history"][0]) == {"epoch", "train_loss", "val_ppl", "lr", "seconds"}
    with np.load(out / "predictions.npz") as arrays:
        assert set(arrays.files) == {"target_probs", "val_target_probs"}
        test_probs = arrays["target_probs"]
    assert test_probs.dtype == np.float32
    assert saved["test_ppl"] == pytest.approx(math.exp(-np.log(test_probs.astype(np.float64)).mean()), rel=1e-5)
    assert saved["test_ppl"] == pytest.approx(math.exp(saved["test_nll"]))
    assert saved["val_ppl"] == pytest.approx(saved["history"][-1]["val_ppl"])
    assert saved["test_ppl"] < 31 / 2  # learned: far below the uniform model's 31
    assert saved["collapsed"] is False and saved["collapse_reasons"] == []
    assert any(line.startswith("epoch   2/2  loss") and "val ppl" in line and "lr 1" in line for line in lines)
    ckpt = ckpt_io.load_model_checkpoint(out / "model.pt", dataset="synthetic_text", num_classes=31)
    assert ckpt["model"] == {"name": "lstm-16", "args": {"dropout": 0.0}, "in_channels": 0, "num_classes": 31}


@pytest.mark.parametrize("objective", ["ban_l", "ban", "cwtm", "dkpp"])
def test_students_learn_from_the_unrolled_teacher(teacher, tmp_path, objective):
    teacher_dir, teacher_metrics, _ = teacher
    member = "gen1" if objective == "ban" else objective
    metrics = run_member(make_spec(member, objective), tmp_path, teacher_dir / "model.pt", "cpu", log=quiet)
    # After two epochs every student is clearly below the uniform model's 31 (DKPP, which sees
    # neither labels nor the teacher's ranking beyond its top word, is the slowest: about 25).
    assert metrics["objective"] == objective and metrics["test_ppl"] < 0.9 * 31
    if objective == "ban_l":
        both = ensemble([teacher_dir, tmp_path], "ens2")
        assert both["task"] == "text" and both["members"] == ["gen0", "ban_l"]
        assert both["test_ppl"] < max(teacher_metrics["test_ppl"], metrics["test_ppl"])


class Interrupted(Exception):
    pass


def test_a_language_model_whose_loss_never_falls_is_collapsed(tmp_path):
    """lr 10 blows the LSTM up in its first epoch (loss 11.3 against ln 31 = 3.4) and its loss
    stays above that: only the loss rule of ``ban.collapse`` applies to a language model."""
    metrics = run_member(make_spec(lr=10.0, epochs=3), tmp_path, None, "cpu", log=quiet)
    losses = [row["train_loss"] for row in metrics["history"]]
    assert min(losses[1:]) >= losses[0]
    assert metrics["collapsed"] is True
    assert metrics["collapse_reasons"] == [f"the training loss never fell below its first epoch's ({losses[0]:.4g}; "
                                           f"lowest later {min(losses[1:]):.4g})"]


def test_rerun_resumes_from_the_last_finished_epoch(teacher, tmp_path):
    _, uninterrupted, _ = teacher

    def stop_in_epoch_two(line: str) -> None:  # the epoch-2 line is logged before its checkpoint
        if line.startswith("epoch   2/"):
            raise Interrupted

    with pytest.raises(Interrupted):
        run_member(make_spec(), tmp_path, None, "cpu", log=stop_in_epoch_two)
    assert (tmp_path / ckpt_io.RESUME_FILE).is_file() and not (tmp_path / "metrics.json").exists()
    lines = []
    resumed = run_member(make_spec(), tmp_path, None, "cpu", log=lines.append)
    assert lines[0].startswith("resumed from epoch 1")
    for key in ("val_ppl", "test_ppl"):
        assert resumed[key] == uninterrupted[key]
    assert not (tmp_path / ckpt_io.RESUME_FILE).exists()


def test_cnn_lstm_teacher_is_rebuilt_from_its_checkpoint(tmp_path):
    args = {"widths": [1, 2], "filters_per_width": 4, "max_filters": 8, "char_dim": 4, "lstm_units": 8,
            "lstm_layers": 1, "highway_layers": 1, "dropout": 0.0}
    spec = make_spec(model="cnn-lstm", args=args, epochs=1)
    run_member(spec, tmp_path / "gen0", None, "cpu", log=quiet)
    info = ckpt_io.load_torch(tmp_path / "gen0" / "model.pt")["model"]
    assert info["args"]["num_chars"] > 3 and info["args"]["max_word_len"] > 2
    student = {**spec, "member": "gen1", "objective": {"name": "ban", "args": {}}, "train_seed": 12}
    metrics = run_member(student, tmp_path / "gen1", tmp_path / "gen0" / "model.pt", "cpu", log=quiet)
    assert math.isfinite(metrics["test_ppl"])


def test_plateau_rule():
    lstm = TextRecipe.from_dict({})
    assert (lstm.epochs, lstm.batch_size, lstm.lr, lstm.plateau_factor, lstm.bptt) == (40, 32, 1.0, 0.25, 35)
    assert not lstm.decays(None, 100.0) and not lstm.decays(100.0, 99.9) and lstm.decays(100.0, 100.0)
    kim = TextRecipe.from_dict({"plateau_factor": 0.5, "plateau_threshold": 0.5})
    assert kim.decays(100.0, 99.6) and not kim.decays(100.0, 99.5)


def test_bad_recipes_and_missing_teacher_fail_in_one_line(tmp_path):
    with pytest.raises(TrainingError, match=r"unknown text recipe key\(s\) \['milestones'\]"):
        run_member(make_spec(milestones=[3]), tmp_path, None, "cpu", log=quiet)
    with pytest.raises(TrainingError, match="needs a teacher checkpoint"):
        run_member(make_spec("gen1", "ban"), tmp_path, None, "cpu", log=quiet)


def test_a_perplexity_past_the_largest_float_is_infinite():
    assert perplexity(700.0) == pytest.approx(math.exp(700.0)) and perplexity(710.0) == math.inf


def test_a_rate_that_blows_up_the_validation_loss_stops_with_one_clear_line(tmp_path):
    """lr 1000 keeps the clipped training loss finite while the validation NLL leaves the floats."""
    with pytest.raises(TrainingError, match=r"^training diverged in epoch 1 \(validation perplexity exp\(.*\) is not a finite "
                                            r"number\); lower recipe.lr or recipe.clip$"):
        run_member(make_spec(lr=1000.0), tmp_path, None, "cpu", log=quiet)
    assert not (tmp_path / "metrics.json").exists()
