"""Model registry. ``build_model(name, in_channels, num_classes, **kwargs)`` → ``nn.Module``.

Image models map ``[B, in_channels, H, W]`` to logits ``[B, num_classes]``. Names follow the paper:
``wrn-<depth>-<width>``, ``densenet-bc-<depth>-<growth>``, ``resnet-<depth>``,
``preact-resnet-<depth>``; ``cnn`` is the small default of the CPU study; ``linear`` and
``mlp-<width>`` are pixel models (``ban.models.mlp``). Each model module registers its names on
import; adding a model is one module plus one import line below.
"""

from __future__ import annotations

from ban.models.registry import MODELS

__all__ = ["MODELS", "build_model", "has_lazy_parameters", "model_names", "num_parameters"]


def _import_models() -> None:
    from ban.models import mlp, small  # noqa: F401

    for optional in ("wrn", "densenet", "resnet", "lm"):
        try:
            __import__(f"ban.models.{optional}")
        except ModuleNotFoundError as err:  # a module not written yet
            if err.name != f"ban.models.{optional}":
                raise


def build_model(name: str, in_channels: int, num_classes: int, input_shape: tuple | None = None, **kwargs):
    """Instantiate the registered model ``name``; unknown names raise ``UnknownNameError``.

    ``input_shape`` (one example's ``(C, H, W)``): a model whose layers learn their input size at the
    first forward (``nn.LazyLinear``) runs one forward on zeros of that shape, without gradients,
    so that every parameter exists (models without such layers are untouched)."""
    _import_models()
    factory, parsed = MODELS.get(name)
    model = factory(in_channels=in_channels, num_classes=num_classes, **parsed, **kwargs)
    if input_shape is not None and has_lazy_parameters(model):
        import torch

        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    return model


def has_lazy_parameters(model) -> bool:
    """Whether some parameter of ``model`` waits for its first forward to know its shape."""
    from torch.nn.parameter import is_lazy

    return any(is_lazy(p) for p in model.parameters())


def model_names() -> list[str]:
    _import_models()
    return MODELS.names()


def num_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
