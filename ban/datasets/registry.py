"""The dataset registry and its error (no torch import).

Loaders register with ``@DATASETS.register(name)`` in their modules (``ban.datasets.fashion_mnist``,
``ban.datasets.cifar``, ``ban.datasets.synthetic``, ``ban.datasets.text``; ``ban.datasets.import_loaders``
imports them all) and return every split as tensors. ``DATASET_TASKS`` names each registered dataset's task, so the
workflow can plan a study's tables without importing torch; a test checks that it agrees with the
registry and with each loaded dataset's ``task``.
"""

from __future__ import annotations

from ban.registry import Registry

DATASETS = Registry("dataset")

DATASET_TASKS = {
    "fashion_mnist": "image",
    "cifar10": "image",
    "cifar100": "image",
    "synthetic": "image",
    "ptb": "text",
    "wordnet": "text",
    "synthetic_text": "text",
}
"""Task (``ban.tasks``) of every registered dataset: one line per dataset."""


class DatasetError(ValueError):
    """Missing, corrupted or badly specified data; the message is one line naming the problem."""


def dataset_task(name: str) -> str:
    """The task (``image`` or ``text``) of dataset ``name``; unknown names raise ``DatasetError``."""
    if name not in DATASET_TASKS:
        raise DatasetError(f"unknown dataset {name!r}; valid: {', '.join(sorted(DATASET_TASKS))}")
    return DATASET_TASKS[name]
