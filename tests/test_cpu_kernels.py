import os
import subprocess
import sys

import pytest

from ban.cpu_kernels import CAPS, cap_cpu_kernels, cpu_flags, kernel_caps

X86 = frozenset({"sse2", "avx", "avx2", "fma", "avx512f"})


def test_caps_on_x86_with_avx2_and_fma_only_and_never_over_a_users_choice():
    assert kernel_caps("x86_64", X86, {}) == CAPS
    assert kernel_caps("AMD64", X86 - {"avx512f"}, {}) == CAPS
    assert kernel_caps("x86_64", X86 - {"fma"}, {}) == {}  # ATen would run AVX2 code regardless
    assert kernel_caps("x86_64", X86 - {"avx2"}, {}) == {}
    assert kernel_caps("aarch64", X86, {}) == {}
    assert kernel_caps("x86_64", X86, {"ATEN_CPU_CAPABILITY": "avx512"}) == {"ONEDNN_MAX_CPU_ISA": "AVX2"}
    environ = {"ONEDNN_MAX_CPU_ISA": "ALL"}
    assert cap_cpu_kernels(environ) in ({}, {"ATEN_CPU_CAPABILITY": "avx2"})
    assert environ["ONEDNN_MAX_CPU_ISA"] == "ALL"


def test_cpu_flags_of_the_first_cpu(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "fma"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def torch_capability(**env: str) -> str:
    """The CPU capability torch dispatches to in a fresh process that imports ``ban`` first."""
    clean = {k: v for k, v in os.environ.items() if k not in CAPS}
    code = "import ban, torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.torch_process
@pytest.mark.skipif(not {"avx2", "fma"} <= cpu_flags(), reason="needs an x86-64 CPU with AVX2")
def test_a_process_that_imports_ban_runs_avx2_kernels_unless_told_otherwise():
    assert torch_capability() == "AVX2"  # AVX512 on a CPU with AVX-512, without the cap
    assert torch_capability(ATEN_CPU_CAPABILITY="default") == "DEFAULT"
