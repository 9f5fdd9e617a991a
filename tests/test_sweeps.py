"""Sweep expansion (ban.sweeps): cell names, factor paths, one-line errors."""

import copy
import re

import pytest

from ban.sweeps import SweepError, cells, expand_sweeps, predictions_of

BASE = {"dataset": {"name": "synthetic", "train_subset": 100}, "seeds": [0],
        "lineages": {"a": {"teacher": {"name": "cnn"}, "generations": 1, "objective_args": {"temperature": 1}},
                     "b": {"teacher": {"name": "linear"}, "generations": 1, "objective_args": {}}}}  # defaults filled


def config(**factors):
    return {"sweeps": {"sw": {"base": BASE, "factors": factors}}}


def test_cells_are_the_grid_in_order_with_readable_names():
    studies = expand_sweeps(config(**{"dataset.train_subset": [500, 2000], "lineages.*.objective_args.temperature": [1, 4.0]}))
    assert list(studies) == ["sw.train_subset500.temperature1", "sw.train_subset500.temperature4",
                             "sw.train_subset2000.temperature1", "sw.train_subset2000.temperature4"]
    cell = studies["sw.train_subset2000.temperature4"]
    assert cell["dataset"]["train_subset"] == 2000
    assert [cell["lineages"][lin]["objective_args"] for lin in ("a", "b")] == [{"temperature": 4.0}] * 2  # '*': every lineage
    assert BASE["dataset"]["train_subset"] == 100 and BASE["lineages"]["b"]["objective_args"] == {}  # the base is unchanged
    assert cells(config(**{"recipe.select": ["last", "best_val"]}))["sw"] == [
        ("sw.selectlast", {"recipe.select": "last"}), ("sw.selectbest_val", {"recipe.select": "best_val"})]


def test_a_new_last_key_is_set_and_a_missing_parent_is_one_line():
    studies = expand_sweeps(config(**{"dataset.label_noise": [{"rate": 0.2}]}))
    assert studies["sw.label_noiserate0-2"]["dataset"]["label_noise"] == {"rate": 0.2}
    with pytest.raises(SweepError, match=r"sweeps.sw.factors: 'dataset.label_noise.rate' does not exist in the base study "
                                         r"\(dataset.label_noise is missing\)"):
        expand_sweeps(config(**{"dataset.label_noise.rate": [0.2]}))
    with pytest.raises(SweepError, match="dataset.name is not a mapping"):
        expand_sweeps(config(**{"dataset.name.x": [1]}))


def test_a_sweep_named_like_a_study_or_colliding_cells_are_refused():
    with pytest.raises(SweepError, match="sweeps.sw: a study of the same name exists"):
        expand_sweeps({"studies": {"sw": BASE}, **config(**{"dataset.train_subset": [1]})})
    with pytest.raises(SweepError, match="collides"):
        expand_sweeps(config(**{"dataset.train_subset": [0.5, "0.5"]}))


PREDICTING = {"sweeps": {"sw": {"base": {"dataset": {"name": "synthetic"}}, "factors": {
    "dataset.label_noise.rate": [0.0, 0.4], "dataset.train_subset": [500, 2000]}}}}


def predicting(*predictions):
    config = copy.deepcopy(PREDICTING)
    config["sweeps"]["sw"]["predictions"] = list(predictions)
    return config


def test_a_prediction_applies_to_the_cells_its_factor_values_name():
    got = predictions_of(predicting({"claim": "ban1_beats_teacher", "expect": "gain", "why": "noise",
                                     "cells": {"dataset.label_noise.rate": [0.4]}},
                                    {"claim": "best_ban_beats_tuned", "expect": "no gain"}), "sw")
    assert got == [{"claim": "ban1_beats_teacher", "expect": "gain", "why": "noise",
                    "cells": ["sw.rate0-4.train_subset500", "sw.rate0-4.train_subset2000"]},
                   {"claim": "best_ban_beats_tuned", "expect": "no gain", "why": "",
                    "cells": ["sw.rate0.train_subset500", "sw.rate0.train_subset2000", "sw.rate0-4.train_subset500",
                              "sw.rate0-4.train_subset2000"]}]


@pytest.mark.parametrize("prediction, message", [
    ({"claim": "ban_beats_all", "expect": "gain"}, "sweeps.sw.predictions[0].claim = 'ban_beats_all': allowed: ban1_beats_teacher, "),
    ({"claim": "ban1_beats_teacher", "expect": "maybe"}, "sweeps.sw.predictions[0].expect = 'maybe': allowed: gain, no gain"),
    ({"claim": "ban1_beats_teacher", "expect": "gain", "cells": {"dataset.rate": [0.4]}},
     "sweeps.sw.predictions[0].cells: 'dataset.rate' is not a factor of the sweep"),
    ({"claim": "ban1_beats_teacher", "expect": "gain", "cells": {"dataset.label_noise.rate": [0.2]}},
     "sweeps.sw.predictions[0].cells.dataset.label_noise.rate: [0.2] not among the factor's values"),
])
def test_a_prediction_that_does_not_fit_the_sweep_is_named(prediction, message):
    with pytest.raises(SweepError, match=re.escape(message)):
        predictions_of(predicting(prediction), "sw")
