"""Whether other processes are running right now: the kernel's count of runnable threads less this process's own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

LOADAVG = Path("/proc/loadavg")
OWN_TASKS = Path("/proc/self/task")


def runnable_threads(loadavg: str) -> int:
    """Threads running or ready to run on the whole machine now: the 4th field of /proc/loadavg ("1/80": 1 of 80)."""
    return int(loadavg.split()[3].split("/")[0])


def machine_runnable_threads() -> int | None:
    """runnable_threads now; None where the kernel does not say (not Linux)."""
    try:
        with open(LOADAVG, "rb") as file:
            return runnable_threads(file.read().decode())
    except (OSError, ValueError, IndexError):
        return None


def is_runnable(task_stat: str) -> bool:
    """Whether a /proc/PID/task/TID/stat line is of a running thread (state R; the name in parentheses may hold
    spaces and parentheses, so the state is read after the last ')')."""
    return task_stat[task_stat.rindex(")") + 1 :].split()[0] == "R"


def own_runnable_threads(tasks: Path = OWN_TASKS) -> int:
    """This process's threads that are running or ready to run."""
    count = 0
    for task in tasks.iterdir():
        try:
            count += is_runnable((task / "stat").read_text())
        except (OSError, ValueError):  # the thread ended meanwhile
            continue
    return count


def allowed_cpus() -> set[int]:
    """The CPUs this process may run on."""
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))


class IdleCores:
    """Asked once per request: are there CPUs enough for `threads` threads of ours that nobody else wants right now?

    A snapshot, not an average: a process that keeps a core busy is runnable at almost every look, one busy a third of
    the time at a third of them (where spinning threads still win: see create_spinning_session). No answer from the
    kernel counts as no. ~17 us while only the asking thread runs; this process's threads are counted only otherwise.
    """

    def __init__(self, threads: int, runnable: Callable[[], int | None] = machine_runnable_threads,
                 own_runnable: Callable[[], int] = own_runnable_threads, cpus: int | None = None) -> None:
        self.threads = threads
        self._runnable = runnable
        self._own_runnable = own_runnable
        self._spare = (len(allowed_cpus()) if cpus is None else cpus) - threads

    def idle(self) -> bool:
        running = self._runnable()
        if running is None:
            return False
        if running - 1 <= self._spare:  # the asking thread is the one running
            return True
        return running - self._own_runnable() <= self._spare
