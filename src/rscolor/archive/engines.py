"""Where the scenes run: in this process (one at a time), or on Dask distributed: a local
cluster of worker processes (``--workers N``) or an existing one (``--scheduler ADDRESS``,
``--scheduler-file FILE``). Both take tasks and give back futures; the driver
(:mod:`.runner`) waits for the first to finish.

A local cluster runs one scene at a time per worker process (one Dask thread) with the
machine's cores shared out as torch threads, and Dask's memory limit of the machine's
memory over N per worker (``distributed.worker.memory`` settings spill, pause and, at 95%,
restart a worker). A worker that dies mid-scene loses nothing: Dask runs its scene again
on another worker, and the scene's output only gets its final name once it is whole.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rscolor.archive.task import Job, ModelSpec, SceneResult, TaskSettings, run_scene, warm
from rscolor.errors import UserError
from rscolor.utils.io import error_reason

# Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in the workers it spawns. Setting it fixes
# glibc's mmap threshold, so every large array becomes a fresh mmap: scenes ran 1.7x slower
# (docs/performance.md). The local cluster's workers keep glibc's own.
NANNY_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
# A cluster with no worker for this long ends the run (one error line; a rerun resumes). Long
# enough for a local cluster's nanny to restart a worker that died, or a batch system to
# start new ones. Dask itself would wait forever.
NO_WORKERS_WAIT = 120.0
# A finished task's result not fetched in this long was lost with its worker: Dask runs the
# task again (or the wait above ends the run), and the driver waits for it again.
RESULT_WAIT = 60.0
# How often the driver asks the scheduler about the tasks it still waits for: one the
# scheduler saw fail twice in a row that the client never heard of (an error Dask's client
# could not read back, e.g. an unpicklable traceback) is failed by the driver.
STATUS_CHECK = 30.0


@dataclass(frozen=True)
class ClusterOptions:
    workers: int | None = None  # a local cluster of N worker processes
    scheduler: str | None = None  # an existing cluster's scheduler address
    scheduler_file: Path | None = None  # ... or its scheduler file
    memory_limit: str = "auto"  # per local worker: Dask's "auto" is the memory over N
    no_workers_wait: float = NO_WORKERS_WAIT  # seconds with no worker before the run ends

    @property
    def distributed(self) -> bool:
        return bool(self.workers or self.scheduler or self.scheduler_file)

    def check(self) -> None:
        given = [self.workers is not None, bool(self.scheduler), bool(self.scheduler_file)]
        if sum(given) > 1:
            raise UserError("choose one of --workers, --scheduler and --scheduler-file")
        if self.workers is not None and self.workers < 1:
            raise UserError("--workers must be at least 1")


def local_threads(workers: int) -> int:
    """Torch threads per local worker: the cores shared out, at least one."""
    return max(1, (os.cpu_count() or 1) // workers)


class InProcessEngine:
    """Scenes one at a time in a thread of this process (the progress bar keeps moving)."""

    description = "in this process"

    def __init__(self) -> None:
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rscolor-scene")

    def warm(self, spec: ModelSpec) -> None:
        warm(spec)

    def submit(self, job: Job, settings: TaskSettings) -> cf.Future[SceneResult]:
        return self._pool.submit(run_scene, job, settings)

    def result(self, future: cf.Future[SceneResult]) -> SceneResult:
        return future.result()

    def wait_first(self, pending: set[Any]) -> set[Any]:
        return cf.wait(pending, return_when=cf.FIRST_COMPLETED).done

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskEngine:
    """Scenes as Dask tasks, one per scene, on a local or an existing cluster."""

    def __init__(self, options: ClusterOptions) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - the archive extra is installed in tests
            raise UserError("Dask needs: pip install 'rscolor[archive]'") from None
        self._cluster = None
        self._no_workers_wait = options.no_workers_wait
        self._no_workers_since: float | None = None
        self._next_worker_check = 0.0
        self._next_status_check = time.monotonic() + STATUS_CHECK
        self._erred: set[Any] = set()  # keys the scheduler had as erred at the last check
        self._unread: set[Any] = set()  # ... and failed here: their error never came
        try:
            if options.workers:
                self._cluster = _local_cluster(options)
                self.client = Client(self._cluster)
            elif options.scheduler_file:
                self.client = Client(scheduler_file=str(options.scheduler_file), timeout=30)
            else:
                self.client = Client(options.scheduler, timeout=30)
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            raise UserError(f"cannot reach the Dask scheduler: {exc}") from None
        self.description = self._describe()

    def _describe(self) -> str:
        info = self.client.scheduler_info()
        workers = len(info.get("workers", {}))
        where = info.get("address", "?")
        dashboard = "dashboard" in info.get("services", {})
        link = self.client.dashboard_link if dashboard else "none (pip install bokeh)"
        return f"Dask scheduler {where}, {workers} worker(s), dashboard: {link}"

    def warm(self, spec: ModelSpec) -> None:
        """The model loaded on every worker now: a model that does not load fails the run
        at once, and the first scenes do not carry the workers' imports."""
        try:
            self.client.run(warm, spec)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(
                f"the Dask workers cannot load the model: {error_reason(exc)}"
            ) from None

    def submit(self, job: Job, settings: TaskSettings) -> Any:
        key = f"rscolor-scene-{uuid.uuid4().hex}"
        return self.client.submit(run_scene, job, settings, key=key, pure=False)

    def result(self, future: Any) -> SceneResult | None:
        """The task's result, or Dask's exception; None when a finished task's result was
        not fetched within RESULT_WAIT s (its worker died holding it: Dask runs it again)."""
        if future.key in self._unread:
            raise RuntimeError("the task failed and Dask could not read back its error")
        try:
            return future.result(timeout=RESULT_WAIT)
        except TimeoutError:
            return None

    def wait_first(self, pending: set[Any]) -> set[Any]:
        """The futures done first. Every 5 s the cluster is checked: a client that lost its
        scheduler for good (Dask closes it after its reconnection timeout), or a cluster
        with no worker for `no_workers_wait` seconds, ends the run instead of waiting
        forever (Dask keeps such tasks waiting for a worker that may never come)."""
        from distributed import wait

        while True:
            self._check_cluster()
            unread = self._errors_never_read(pending)
            if unread:
                return unread
            try:
                return set(wait(list(pending), timeout=5, return_when="FIRST_COMPLETED").done)
            except TimeoutError:
                continue

    def _errors_never_read(self, pending: set[Any]) -> set[Any]:
        """Futures still waiting whose tasks the scheduler had as failed (``erred``) at this
        check and the one before: their error never reached this client."""
        now = time.monotonic()
        if now < self._next_status_check:
            return set()
        self._next_status_check = now + STATUS_CHECK
        waiting = {f.key: f for f in pending if not f.done()}
        try:
            states = self.client.sync(self.client.scheduler.get_task_status, keys=list(waiting))
        except Exception:  # noqa: BLE001 - an older scheduler, or away: checked next time
            return set()
        erred = {key for key, state in states.items() if state == "erred"}
        unread, self._erred = erred & self._erred, erred
        self._unread |= unread
        return {waiting[key] for key in unread if key in waiting}

    def _check_cluster(self) -> None:
        resume = "rerun the same command to resume (the manifest keeps every finished scene)"
        if self.client.status in ("closing", "closed"):
            raise UserError(f"lost the Dask scheduler: {resume}")
        now = time.monotonic()
        if now < self._next_worker_check:  # at most every 5 s: no round trip per result
            return
        self._next_worker_check = now + 5
        try:
            workers = self.client.nthreads()
        except (OSError, TimeoutError):  # the scheduler is away: the status above decides
            return
        if workers:
            self._no_workers_since = None
            return
        if self._no_workers_since is None:
            self._no_workers_since = now
        elif now - self._no_workers_since > self._no_workers_wait:
            raise UserError(
                f"no Dask worker left for {self._no_workers_wait:.0f} s (they died, or "
                f"could not start): {resume}"
            )

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


def _local_cluster(options: ClusterOptions) -> Any:
    import dask
    from distributed import LocalCluster

    with dask.config.set(NANNY_ENVIRONMENT):
        return LocalCluster(
            n_workers=options.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=options.memory_limit,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )


def open_engine(options: ClusterOptions) -> InProcessEngine | DaskEngine:
    options.check()
    return DaskEngine(options) if options.distributed else InProcessEngine()
