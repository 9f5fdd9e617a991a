import math

import numpy as np
import pytest

from ban.metrics import ece_percent, error_percent, nll, perplexity


def test_scores_by_hand():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3], [0.2, 0.8]])
    labels = np.array([0, 1, 1, 1])
    assert error_percent(probs, labels) == 25.0
    assert nll(probs, labels) == pytest.approx(-(math.log(0.9) + math.log(0.6) + math.log(0.3) + math.log(0.8)) / 4)
    # confidences 0.9, 0.6, 0.7, 0.8 fall in 4 different bins of 15; each bin |acc - conf|
    expected = (abs(1 - 0.9) + abs(1 - 0.6) + abs(0 - 0.7) + abs(1 - 0.8)) / 4
    assert ece_percent(probs, labels) == pytest.approx(100 * expected)


def test_uniform_model_over_v_words_has_perplexity_v():
    assert perplexity(np.full(1000, 1 / 250, dtype=np.float32)) == pytest.approx(250, rel=1e-5)


def test_a_confident_wrong_prediction_costs_what_float32_allows():
    """NLL floors at float32's smallest normal (1.18e-38), not at 1e-12: a prediction that gives the
    true class 1e-30 costs 69.1 nats (a 1e-12 floor would have said 27.6)."""
    probs = np.array([[1.0, 1e-30], [0.5, 0.5]], dtype=np.float32)
    labels = np.array([1, 0])
    assert nll(probs, labels) == pytest.approx((-math.log(1e-30) - math.log(0.5)) / 2, rel=1e-5)
    assert nll(np.array([[1.0, 0.0]], dtype=np.float32), np.array([1])) == pytest.approx(-math.log(np.finfo(np.float32).tiny))
