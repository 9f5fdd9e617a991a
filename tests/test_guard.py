"""One writer per member folder, and trainers that stop with their workflow (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ban.guard import LOCK_FILE, MemberBusyError, member_lock

HOLD = """
import sys, time
from ban.guard import member_lock
with member_lock(sys.argv[1]):
    print('held', flush=True)
    time.sleep(60)
"""


def test_a_second_writer_refuses_in_one_line_naming_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(MemberBusyError) as error:
            with member_lock(tmp_path, wait_seconds=0.5, poll=0.1):
                pass
        message = str(error.value)
        assert f"pid {holder.pid}" in message and str(tmp_path) in message and "\n" not in message
    finally:
        holder.kill()
        holder.wait()
    with member_lock(tmp_path, wait_seconds=2):  # the kernel released the dead holder's lock
        assert f"pid {os.getpid()}" in (tmp_path / LOCK_FILE).read_text()


def test_a_writer_waits_for_the_lock_to_be_released(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD.replace("time.sleep(60)", "time.sleep(1)"), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    with member_lock(tmp_path, wait_seconds=20, poll=0.1):
        waited = time.monotonic() - started
    holder.wait()
    assert 0.3 < waited < 15


WATCHED = """
import sys, time
from pathlib import Path
from ban.guard import watch_workflow
watch_workflow(int(sys.argv[1]), interval=0.2)
out = Path(sys.argv[2])
for i in range(600):
    out.write_text(str(i))
    time.sleep(0.1)
"""


def test_a_trainer_stops_soon_after_its_workflow_dies(tmp_path):
    workflow = subprocess.Popen(["sleep", "120"])
    trainer = subprocess.Popen([sys.executable, "-c", WATCHED, str(workflow.pid), str(tmp_path / "beat")],
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "beat").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert trainer.poll() is None
    workflow.kill()
    workflow.wait()
    killed = time.monotonic()
    assert trainer.wait(timeout=20) != 0
    assert time.monotonic() - killed < 5
    beat = (tmp_path / "beat").read_text()
    time.sleep(0.5)
    assert (tmp_path / "beat").read_text() == beat  # nothing writes any more
    assert "stopped" in trainer.stderr.read()


def test_sigterm_stops_a_watched_trainer_cleanly(tmp_path):
    trainer = subprocess.Popen([sys.executable, "-c", WATCHED, str(os.getpid()), str(tmp_path / "beat")],
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "beat").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    trainer.terminate()
    assert trainer.wait(timeout=10) == 1
    assert "stopped by signal 15" in trainer.stderr.read()
