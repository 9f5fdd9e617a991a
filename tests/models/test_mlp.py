"""Pixel models (ban.models.mlp): shapes, parameter counts by hand, and a checkpoint round trip."""

import pytest
import torch

from ban import checkpoint as ckpt_io
from ban.models import build_model, has_lazy_parameters, num_parameters


@pytest.mark.parametrize(("name", "params"), [
    ("linear", 28 * 28 * 10 + 10),  # softmax regression: one weight per pixel and class, one bias per class
    ("mlp-64", 28 * 28 * 64 + 64 + 64 * 10 + 10),
])
def test_pixel_models_size_themselves_from_the_data_shape(name, params):
    model = build_model(name, 1, 10, input_shape=(1, 28, 28))
    assert not has_lazy_parameters(model) and num_parameters(model) == params
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    with torch.device("meta"):  # the pre-flight check builds it without memory
        assert num_parameters(build_model(name, 3, 4, input_shape=(3, 8, 8))) == (3 * 64 * 4 + 4 if name == "linear"
                                                                                 else 3 * 64 * 64 + 64 + 64 * 4 + 4)


def test_linear_is_softmax_regression_on_pixels():
    model = build_model("linear", 1, 3, input_shape=(1, 2, 2))
    weight, bias = model[1].weight, model[1].bias
    x = torch.arange(8.0).reshape(2, 1, 2, 2)
    assert torch.allclose(model(x), x.flatten(1) @ weight.T + bias)


def test_a_saved_pixel_model_loads_into_a_fresh_one(tmp_path):
    model = build_model("mlp-8", 1, 4, input_shape=(1, 12, 12))
    info = {"name": "mlp-8", "args": {}, "in_channels": 1, "num_classes": 4}
    ckpt_io.save_model(tmp_path / "model.pt", model, info, "synthetic", {})
    loaded = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(tmp_path / "model.pt"))
    x = torch.randn(3, 1, 12, 12)
    assert torch.equal(loaded(x), model(x)) and num_parameters(loaded) == num_parameters(model)


def test_a_zero_width_mlp_is_refused():
    with pytest.raises(ValueError, match="mlp width must be positive"):
        build_model("mlp-0", 1, 4)
