"""Whether other processes want the cores (model.cpu_load), from the kernel's counts and from fakes."""

import subprocess
import sys
import time

import pytest

from model.cpu_load import IdleCores, allowed_cpus, is_runnable, machine_runnable_threads, own_runnable_threads, runnable_threads

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_runnable_threads_is_the_fourth_field_of_loadavg():
    assert runnable_threads("0.55 0.28 0.11 3/80 4197\n") == 3


@pytest.mark.parametrize("line, running", [
    ("4197 (python3) R 1 4197 4197 0 -1", True),
    ("4198 (a) S (b) R 1 4197", True),  # a thread named "a) S (b" is running
    ("4199 (worker) R) S 1 4197", False),  # one named "worker) R" is sleeping
    ("4200 (ort) D 1 4197", False),
])
def test_a_thread_state_is_read_after_its_name(line, running):
    assert is_runnable(line) is running


def test_own_runnable_threads_counts_tasks_in_state_r_and_skips_ended_ones(tmp_path):
    for tid, state in (("1", "R"), ("2", "S"), ("3", "R")):
        (tmp_path / tid).mkdir()
        (tmp_path / tid / "stat").write_text(f"{tid} (t) {state} 1 1\n")
    (tmp_path / "4").mkdir()  # ended between the listing and the read: no stat
    assert own_runnable_threads(tmp_path) == 2


@linux_only
def test_the_asking_thread_is_runnable_itself():
    assert own_runnable_threads() >= 1 and machine_runnable_threads() >= 1


@pytest.mark.parametrize("runnable, own, cpus, threads, idle", [
    (1, 1, 2, 2, True),  # only the asking thread runs
    (2, 1, 2, 2, False),  # another process runs
    (3, 3, 2, 2, True),  # three of ours run, nobody else's
    (3, 1, 8, 4, True),  # two others, four CPUs to spare
    (6, 1, 8, 4, False),
    (None, 0, 2, 2, False),  # the kernel does not say
])
def test_idle_when_other_processes_leave_cpus_for_our_threads(runnable, own, cpus, threads, idle):
    assert IdleCores(threads, runnable=lambda: runnable, own_runnable=lambda: own, cpus=cpus).idle() is idle


@linux_only
def test_processes_that_keep_every_cpu_busy_mean_not_idle():
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in allowed_cpus()]
    try:
        time.sleep(0.5)  # all of them started and spinning
        assert not any(IdleCores(threads=1).idle() for _ in range(5))
    finally:
        for process in busy:
            process.kill()
            process.wait()
