"""The numerics environment (ban.environment) agrees with what torch itself reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ban.environment import cpu_capability, differences, environment, environment_key

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.torch_process
@pytest.mark.parametrize("asked", [None, "default", "avx2", "avx512", "nonsense"])
def test_cpu_capability_is_the_one_torch_uses(asked):
    """In a fresh process (the variable is read once): ban's torch-free answer equals torch's."""
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"} | ({"ATEN_CPU_CAPABILITY": asked} if asked else {})
    env["PYTHONPATH"] = str(REPO)
    code = ("import json, torch; from ban.environment import cpu_capability; "
            "print(json.dumps([cpu_capability(), torch.backends.cpu.get_cpu_capability().lower()]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    ours, torchs = json.loads(out.stdout)
    assert ours == torchs


def test_cpu_capability_from_flags():
    flags = frozenset({"avx2", "fma"})
    assert cpu_capability({}, "x86_64", flags) == "avx2"
    assert cpu_capability({}, "x86_64", flags | {"avx512f", "avx512bw", "avx512vl", "avx512dq"}) == "avx512"
    assert cpu_capability({}, "x86_64", frozenset({"sse4_2"})) == "default"
    assert cpu_capability({}, "aarch64", frozenset()) == "default"
    assert cpu_capability({"ATEN_CPU_CAPABILITY": "DEFAULT"}, "x86_64", flags) == "default"


def test_environment_records_versions_and_names_what_changed():
    env = environment("cpu")
    assert env["device"] == "cpu" and env["torch"].split("+")[0] == __import__("torch").__version__.split("+")[0]
    assert environment_key(env)["python"] == ".".join(env["python"].split(".")[:2])
    assert differences(env, env) == []
    assert differences({**env, "torch": "0.1"}, env) == [f"torch 0.1 -> {env['torch']}"]
    assert differences(None, env) == ["not recorded"]
