"""The model registry: model modules register their names here with ``@MODELS.register(name)``."""

from __future__ import annotations

from ban.registry import Registry

MODELS = Registry("model")
