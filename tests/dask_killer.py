"""A Dask worker preload (``distributed.worker.preload``) for the archive tests: a scene whose
file name starts with ``kill`` SIGKILLs the worker process that runs it, as a scene that
crashes its worker would (out of memory, a segfault in a library)."""

from __future__ import annotations

import os
import signal

from rscolor.archive import task

_run_scene = getattr(task.run_scene, "wrapped", task.run_scene)  # preloaded twice: once


def run_scene(job: task.Job, settings: task.TaskSettings) -> task.SceneResult:
    if os.path.basename(job.name).startswith("kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    return _run_scene(job, settings)


run_scene.wrapped = _run_scene  # type: ignore[attr-defined]
task.run_scene = run_scene  # the driver sends the task by name: this one runs here
