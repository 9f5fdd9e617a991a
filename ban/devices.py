"""Whether the configured training device can run here, asked without importing torch.

The workflow checks ``device`` when it reads the config, dry runs included: ``cuda_problem``
asks a fresh Python process (the interpreter running the workflow, with its torch) whether CUDA is
available — the same answer ``ban.runtime.resolve_device`` gives a job — and only when the device
names CUDA, so ``auto`` and ``cpu`` cost nothing.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = "import torch; print(torch.cuda.is_available())"


def cuda_available(python: str = sys.executable, timeout: float = 300.0) -> bool:
    """``torch.cuda.is_available()`` in a new ``python`` process; False when that cannot run."""
    try:
        probe = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0 and probe.stdout.strip() == "True"


def cuda_problem(device: str, python: str = sys.executable) -> str | None:
    """The one line refusing ``device`` (``cuda`` or ``cuda:N``) when CUDA is not available, else None."""
    if not str(device).startswith("cuda") or cuda_available(python):
        return None
    return f"device: device {device!r} requested but CUDA is not available (allowed here: auto or cpu)"
