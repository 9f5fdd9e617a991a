"""The configured device against this machine, asked of a real Python process (ban/devices.py)."""

from __future__ import annotations

import sys

import pytest
import torch

from ban.devices import cuda_available, cuda_problem


@pytest.mark.torch_process
def test_cuda_is_asked_of_a_fresh_process_only_for_cuda_devices():
    assert cuda_available() == torch.cuda.is_available()
    assert cuda_problem("auto") is None and cuda_problem("cpu") is None
    missing = "device: device 'cuda:0' requested but CUDA is not available (allowed here: auto or cpu)"
    expected = None if torch.cuda.is_available() else missing
    assert cuda_problem("cuda:0") == expected


def test_an_interpreter_that_cannot_import_torch_has_no_cuda(tmp_path):
    assert not cuda_available(python=str(tmp_path / "no-python"))
    assert cuda_problem("cuda", python=sys.executable + "-missing") is not None
