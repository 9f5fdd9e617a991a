"""Every task's trainer module keeps the contract ``ban.lifecycle`` calls (ban.tasks.contract)."""

from __future__ import annotations

import inspect

import pytest

from ban.tasks import TASKS, get_task
from ban.tasks.contract import LOOP_ARGUMENTS, EpochLoop, Trainer


def parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


def protocol_methods(protocol) -> dict:
    return {name: value for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_trainer_module_is_a_trainer(task):
    trainer = get_task(task).trainer()
    for name, method in protocol_methods(Trainer).items():
        assert callable(getattr(trainer, name, None)), f"ban.tasks.{task} lacks {name}"
        assert parameters(getattr(trainer, name)) == parameters(method), f"ban.tasks.{task}.{name}"
    assert callable(trainer.Recipe.from_dict)
    assert parameters(trainer.Loop.__init__) == list(LOOP_ARGUMENTS)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_loop_is_an_epoch_loop(task):
    loop = get_task(task).trainer().Loop
    for name, method in protocol_methods(EpochLoop).items():
        assert callable(getattr(loop, name, None)), f"{task} Loop lacks {name}"
        assert parameters(getattr(loop, name)) == parameters(method), f"{task} Loop.{name}"
    assert isinstance(loop.divergence_hint, str)
    for attribute in EpochLoop.__annotations__:
        assert attribute in vars(loop) or attribute in inspect.getsource(loop), f"{task} Loop lacks {attribute}"


def test_a_drifted_module_is_caught():
    """The check itself fails on a module whose function takes other arguments."""

    class Drifted:
        def train_epoch(self, index):  # named otherwise than the contract's ``epoch``
            return {}

    assert parameters(Drifted.train_epoch) != parameters(EpochLoop.train_epoch)
