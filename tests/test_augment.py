import pytest
import torch
import torch.nn.functional as F

from ban.augment import AugmentError, random_crop_flip


def batch(shape=(64, 3, 10, 12), seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def matching_window(padded: torch.Tensor, out: torch.Tensor, padding: int) -> tuple[int, int, bool]:
    """The (dy, dx, flipped) whose window of ``padded`` [C, H+2p, W+2p] equals ``out`` [C, H, W]."""
    height, width = out.shape[-2:]
    hits = [
        (dy, dx, flipped)
        for dy in range(2 * padding + 1)
        for dx in range(2 * padding + 1)
        for flipped in (False, True)
        if torch.equal(
            padded[:, dy : dy + height, dx : dx + width].flip(-1) if flipped else padded[:, dy : dy + height, dx : dx + width],
            out,
        )
    ]
    assert len(hits) == 1, hits
    return hits[0]


def test_preserves_shape_dtype_device():
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        x = batch().to(dtype)
        out = random_crop_flip(x, generator=torch.Generator().manual_seed(1))
        assert out.shape == x.shape and out.dtype == dtype and out.device == x.device


def test_no_padding_no_flip_is_identity():
    x = batch()
    out = random_crop_flip(x, padding=0, flip=False)
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


def test_every_sample_is_a_window_of_the_reflect_padded_image():
    padding = 4
    x = batch((48, 2, 10, 12))
    out = random_crop_flip(x, padding=padding, generator=torch.Generator().manual_seed(3))
    padded = F.pad(x, (padding,) * 4, mode="reflect")
    windows = [matching_window(padded[b], out[b], padding) for b in range(x.shape[0])]
    assert len({(dy, dx) for dy, dx, _ in windows}) > 10  # offsets vary across the batch
    assert {flipped for _, _, flipped in windows} == {False, True}


def test_one_sample_against_manual_slicing():
    x = batch((1, 3, 8, 8))
    for seed in range(20):
        out = random_crop_flip(x, padding=2, flip=False, generator=torch.Generator().manual_seed(seed))
        padded = F.pad(x, (2, 2, 2, 2), mode="reflect")[0]
        dy, dx, flipped = matching_window(padded, out[0], 2)
        assert not flipped
        torch.testing.assert_close(out[0], padded[:, dy : dy + 8, dx : dx + 8], rtol=0, atol=0)


def test_seeded_reproducibility():
    x = batch()
    first = random_crop_flip(x, generator=torch.Generator().manual_seed(7))
    second = random_crop_flip(x, generator=torch.Generator().manual_seed(7))
    third = random_crop_flip(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, second) and not torch.equal(first, third)


def test_flip_only_flips_about_half():
    x = batch((1000, 1, 6, 6))
    out = random_crop_flip(x, padding=0, flip=True, generator=torch.Generator().manual_seed(0))
    flipped = torch.tensor([torch.equal(o, s.flip(-1)) for o, s in zip(out, x)])
    kept = torch.tensor([torch.equal(o, s) for o, s in zip(out, x)])
    assert torch.all(flipped ^ kept)
    assert 430 < int(flipped.sum()) < 570


@pytest.mark.parametrize("shape, padding", [((2, 3, 4), 1), ((2, 1, 4, 4), 4), ((2, 1, 4, 4), -1)])
def test_bad_input_is_rejected(shape, padding):
    with pytest.raises(AugmentError):
        random_crop_flip(torch.zeros(shape), padding=padding)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_gpu_with_gpu_generator():
    x = batch().cuda()
    out = random_crop_flip(x, generator=torch.Generator(device="cuda").manual_seed(0))
    assert out.device == x.device
    padded = F.pad(x, (4,) * 4, mode="reflect")
    matching_window(padded[0], out[0], 4)
