"""Scores of predicted probabilities ``probs [N, C]`` against ``labels [N]`` (numpy arrays).

- ``error_percent = 100 · mean(argmax probs ≠ label)``
- ``nll = mean(−log max(p_label, PROB_FLOOR))`` in nats, ``PROB_FLOOR`` = float32's smallest
  normal (1.18e-38): the only floor is where float32 probabilities stop, so an over-confident
  wrong prediction costs up to 87.3 nats, not 27.6
- ``ece_percent = 100 · Σ_b (|B_b|/N) · |acc(B_b) − conf(B_b)|`` over 15 equal-width confidence bins
- ``perplexity = exp(mean(−log p_target))`` for language models
"""

from __future__ import annotations

import numpy as np

PROB_FLOOR = float(np.finfo(np.float32).tiny)
"""The smallest normal float32: probabilities are float32, so this floor only stops log(0)."""


def error_percent(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(100.0 * np.mean(probs.argmax(axis=1) != labels))


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels].astype(np.float64), PROB_FLOOR))))


def ece_percent(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(100.0 * total)


def perplexity(target_probs: np.ndarray) -> float:
    return float(np.exp(-np.mean(np.log(np.maximum(target_probs.astype(np.float64), PROB_FLOOR)))))


def classification_scores(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """``{"test_error", "test_nll", "test_ece"}`` of one model's or an ensemble's probabilities."""
    return {"test_error": error_percent(probs, labels), "test_nll": nll(probs, labels), "test_ece": ece_percent(probs, labels)}


def score_summary(metrics: dict) -> str:
    """The headline score of an image ("test error x.xx%") or text ("test ppl x.xx") metrics dict."""
    if "test_error" in metrics:
        return f"test error {metrics['test_error']:.2f}%"
    return f"test ppl {metrics['test_ppl']:.2f}"
