"""Model registry. ``build_model(name, in_channels, num_classes, **kwargs)`` → ``nn.Module``.

Image models map ``[B, in_channels, H, W]`` to logits ``[B, num_classes]``. Names follow the paper:
``wrn-<depth>-<width>``, ``densenet-bc-<depth>-<growth>``, ``resnet-<depth>``,
``preact-resnet-<depth>``; ``cnn`` is the small default of the CPU study. Each model module
registers its names on import; adding a model is one module plus one import line below.
"""

from __future__ import annotations

from ban.models.registry import MODELS

__all__ = ["MODELS", "build_model", "model_names", "num_parameters"]


def _import_models() -> None:
    from ban.models import small  # noqa: F401

    for optional in ("wrn", "densenet", "resnet", "lm"):
        try:
            __import__(f"ban.models.{optional}")
        except ModuleNotFoundError as err:  # a module not written yet
            if err.name != f"ban.models.{optional}":
                raise


def build_model(name: str, in_channels: int, num_classes: int, **kwargs):
    """Instantiate the registered model ``name``; unknown names raise ``UnknownNameError``."""
    _import_models()
    factory, parsed = MODELS.get(name)
    return factory(in_channels=in_channels, num_classes=num_classes, **parsed, **kwargs)


def model_names() -> list[str]:
    _import_models()
    return MODELS.names()


def num_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
