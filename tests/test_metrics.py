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
