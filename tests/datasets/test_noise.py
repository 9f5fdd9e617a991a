"""Label noise (ban.datasets.noise and load_dataset's label_noise)."""

import numpy as np
import pytest
import torch

from ban.datasets import DatasetError, load_dataset
from ban.datasets.noise import noisy_labels


def test_symmetric_noise_rate_is_binomial_and_never_the_true_class():
    labels = np.random.default_rng(0).integers(0, 10, 100_000)
    (noisy,) = noisy_labels([labels], 10, 0.4, "symmetric", seed=3)
    corrupted = noisy != labels
    assert abs(corrupted.mean() - 0.4) < 4 * np.sqrt(0.4 * 0.6 / len(labels))  # within 4 binomial sd
    # a corrupted label is another class, each of the 9 equally likely: offsets 1..9 about uniform
    offsets = (noisy[corrupted] - labels[corrupted]) % 10
    assert offsets.min() == 1 and offsets.max() == 9
    counts = np.bincount(offsets, minlength=10)[1:]
    assert np.all(np.abs(counts / corrupted.sum() - 1 / 9) < 0.01)
    (again,) = noisy_labels([labels], 10, 0.4, "symmetric", seed=3)
    (other,) = noisy_labels([labels], 10, 0.4, "symmetric", seed=4)
    assert np.array_equal(again, noisy) and not np.array_equal(other, noisy)


def test_pairwise_noise_moves_a_label_to_the_next_class():
    labels = np.arange(20) % 4
    (noisy,) = noisy_labels([labels], 4, 0.5, "pairwise", seed=0)
    corrupted = noisy != labels
    assert corrupted.any() and np.array_equal(noisy[corrupted], (labels[corrupted] + 1) % 4)
    assert noisy_labels([labels], 4, 0.0, "pairwise", seed=0)[0].tolist() == labels.tolist()


def test_load_dataset_corrupts_train_and_val_labels_only_and_keeps_the_clean_ones():
    clean = load_dataset("synthetic", val_split=0.25, seed=1)
    noisy = load_dataset("synthetic", val_split=0.25, seed=1, label_noise={"rate": 0.4, "kind": "symmetric", "seed": 5})
    assert torch.equal(noisy.clean_train_y, clean.train_y) and torch.equal(noisy.train_x, clean.train_x)
    assert torch.equal(noisy.test_y, clean.test_y) and torch.equal(noisy.test_x, clean.test_x)  # test labels clean
    assert 0.3 < (noisy.train_y != clean.train_y).float().mean() < 0.5
    assert (noisy.val_y != clean.val_y).any()
    assert clean.clean_train_y is None
    again = load_dataset("synthetic", val_split=0.25, seed=1, label_noise={"rate": 0.4, "kind": "symmetric", "seed": 5})
    assert torch.equal(again.train_y, noisy.train_y) and torch.equal(again.val_y, noisy.val_y)


def test_every_member_of_a_seed_gets_the_same_noise_seed():
    import yaml

    from ban.study import member_spec
    from tests.workflow.conftest import TINY

    config = yaml.safe_load(TINY.read_text())
    config["studies"]["tiny"]["dataset"]["label_noise"] = {"rate": 0.2}
    for seed in (0, 1):
        noise = [member_spec(config, "tiny", "cnn", seed, m)["dataset"]["label_noise"] for m in ("gen0", "gen1", "cwtm")]
        assert noise == [{"rate": 0.2, "seed": seed}] * 3
    assert config["studies"]["tiny"]["dataset"]["label_noise"] == {"rate": 0.2}


@pytest.mark.parametrize(("noise", "message"), [
    ({"rate": 1.0, "seed": 0}, "label_noise.rate must be a number in"),
    ({"rate": 0.2, "kind": "uniform", "seed": 0}, "label_noise.kind must be one of symmetric, pairwise"),
    ({"rate": 0.2}, "label_noise.seed must be a non-negative integer"),
    ({"rate": 0.2, "seed": 0, "sead": 1}, r"label_noise: unknown key\(s\) \['sead'\]"),
])
def test_bad_label_noise_is_one_line(noise, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset("synthetic", label_noise=noise)


def test_a_member_records_the_realised_noise_and_how_much_of_it_it_memorised(tiny_spec, tmp_path):
    from ban import checkpoint as ckpt_io
    from ban.lifecycle import run_member
    from ban.tasks.image import predict

    tiny_spec["dataset"]["label_noise"] = {"rate": 0.4, "kind": "pairwise", "seed": 2}
    metrics = run_member(tiny_spec, tmp_path / "m", log=lambda _: None)
    data = load_dataset(**tiny_spec["dataset"])
    model = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(tmp_path / "m/model.pt"))
    predicted = predict(model, data.train_x, 1024, torch.device("cpu"), "fp32", False).argmax(1)
    noisy, clean = data.train_y.numpy(), data.clean_train_y.numpy()
    corrupted = noisy != clean
    assert metrics["label_noise_rate"] == pytest.approx(100 * corrupted.mean())
    assert metrics["train_error"] == pytest.approx(100 * np.mean(predicted != noisy))
    assert metrics["train_error_clean"] == pytest.approx(100 * np.mean(predicted != clean))
    assert metrics["noise_memorised"] == pytest.approx(100 * np.mean(predicted[corrupted] == noisy[corrupted]))
