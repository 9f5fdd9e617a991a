"""PyTorch's CPU kernels capped at AVX2: a CPU training writes the same bytes on x86-64 CPUs with
and without AVX-512.

PyTorch picks its CPU kernels by the instruction sets of the CPU it runs on. On a CPU with
AVX-512, ATen's vectorised kernels and oneDNN's convolutions use AVX-512 and round differently
from the AVX2 kernels of CPUs without it; after 200 epochs of the default study the same
spec ends a few tenths of a percent of test error apart. ``cap_cpu_kernels`` sets

    ATEN_CPU_CAPABILITY=avx2    ONEDNN_MAX_CPU_ISA=AVX2

on an x86-64 Linux CPU that has AVX2 and FMA (ATen trusts the variable and does not check the
CPU, so it is never set on one without them). A variable that is already set is left alone: a
user who wants AVX-512 kernels sets ``ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=ALL``.
Both are read when torch first runs a CPU kernel, so ``ban/__init__.py`` calls this on import,
before any module of the package imports torch; the processes Snakemake starts inherit them. A
process that ran a torch CPU kernel before importing ``ban`` (a notebook) keeps the kernels torch
chose then. GPU kernels are not affected. Like the device, the cap is not part of a member's
identity.

Imports nothing of ``ban`` and not torch.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, MutableMapping
from pathlib import Path

CAPS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
"""The variables and values that cap the CPU kernels at AVX2."""


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The instruction-set flags of the first CPU in ``cpuinfo`` (empty where it cannot be read)."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def kernel_caps(machine: str, flags: frozenset[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``CAPS`` to set: all but those ``environ`` already has, on an x86-64
    ``machine`` whose ``flags`` include ``avx2`` and ``fma``; none elsewhere."""
    if machine.lower() not in ("x86_64", "amd64") or not {"avx2", "fma"} <= flags:
        return {}
    return {name: value for name, value in CAPS.items() if name not in environ}


def cap_cpu_kernels(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set ``kernel_caps`` for this machine in ``environ``; return what was set."""
    caps = kernel_caps(platform.machine(), cpu_flags(), environ)
    environ.update(caps)
    return caps
