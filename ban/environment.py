"""The numerics environment of a training: what, beside its identity, decides its bytes (no torch
import on a CPU-only machine).

``environment(device)`` is recorded in every trained member's ``metrics.json``::

    {"python": "3.11.2", "torch": "2.14.1+cu130", "numpy": "2.3.5",
     "device": "cpu" | "cuda:<device name>", "cpu_capability": "avx2" | "avx512" | "default" | ...}

(the trainer adds ``precision``, the one in effect: ``bf16`` or ``fp32``; it follows from the
recipe's ``precision``, which is part of the identity, and the device kind). ``environment_key``
is the part a store entry is keyed on: the library versions, Python's minor version, the device
kind and the CPU kernel capability, so a restore never crosses them. A job that ran on another
node of the same kind has the same key.

``cpu_capability`` is ATen's CPU kernel level as torch picks it: ``$ATEN_CPU_CAPABILITY`` when set
to a level (ATen trusts it; ``ban.cpu_kernels`` sets ``avx2`` on import), else the best the CPU has; a test holds
it to ``torch.backends.cpu.get_cpu_capability()``. ``device_kind("auto")`` imports torch only on a
machine with an NVIDIA driver.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from ban.cpu_kernels import cpu_flags

LEVELS = ("default", "avx2", "avx512", "zvector", "sve256")
"""The values of ``$ATEN_CPU_CAPABILITY`` ATen accepts (lowercase)."""
AVX512 = {"avx512f", "avx512bw", "avx512vl", "avx512dq"}
KEY_FIELDS = ("python", "torch", "numpy", "device", "cpu_capability")
NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")


def cpu_capability(environ: Mapping[str, str] = os.environ, machine: str | None = None,
                   flags: frozenset[str] | None = None) -> str:
    """ATen's CPU kernel level (lowercase), without importing torch (see the module docstring)."""
    asked = environ.get("ATEN_CPU_CAPABILITY", "").lower()
    if asked in LEVELS:  # ATen trusts the variable: it does not check the CPU
        return asked
    if (machine or platform.machine()).lower() not in ("x86_64", "amd64"):
        return "default"
    flags = cpu_flags() if flags is None else flags
    return "avx512" if AVX512 <= flags and "fma" in flags else "avx2" if {"avx2", "fma"} <= flags else "default"


def device_kind(device: str) -> str:
    """``cpu``, or ``cuda:<device name>`` for the CUDA device ``device`` (``auto``: CUDA when there
    is one) resolves to; a CUDA device asked for where there is none is returned as asked (the
    training refuses it)."""
    if device == "cpu" or (device == "auto" and not NVIDIA_DRIVER.exists()):
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        return "cpu" if device == "auto" else device
    return f"cuda:{torch.cuda.get_device_name(torch.device('cuda' if device == 'auto' else device))}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def environment(device: str = "auto") -> dict:
    """The environment a training on ``device`` runs in (see the module docstring)."""
    return {
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "device": device_kind(device),
        "cpu_capability": cpu_capability(),
    }


def environment_key(env: Mapping) -> dict:
    """The fields of ``env`` a store entry is keyed on (Python as major.minor)."""
    key = {field: env.get(field) for field in KEY_FIELDS}
    key["python"] = ".".join(str(key["python"]).split(".")[:2])
    return key


def differences(recorded: Mapping | None, current: Mapping) -> list[str]:
    """``"torch 2.13.0 -> 2.14.1"``-style lines for each key field that differs (all of
    ``current``'s when ``recorded`` is None: a result from before environments were recorded)."""
    if not isinstance(recorded, Mapping):
        return ["not recorded"]
    old, new = environment_key(recorded), environment_key(current)
    return [f"{field} {old[field]} -> {new[field]}" for field in KEY_FIELDS if old[field] != new[field]]
