"""The driver of an archive run: plan every scene against the manifest, hand the ones to do
to an engine, record each result as it comes, retry failures, summarise.

What a rerun does with a scene, by its manifest row and its output:

- ``done`` and the output verifies (checksum, see :meth:`OutputTarget.verify`): skipped;
  ``done`` but the output is gone: run again; changed: failed (``--force`` redoes it);
- anything else: run, unless the output exists (then failed: ``--force`` overwrites), or
  the row says ``running`` (a driver that died after handing it out: the output is
  checked and kept) or failed with ``KilledWorker`` (the same, a worker that died).

A scene that Dask gives up on (``KilledWorker``) whose output exists was finished by a
worker that died before reporting: adopted as done during the run.
"""

from __future__ import annotations

import sys
import time
from asyncio import CancelledError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rscolor.archive.engines import ClusterOptions, open_engine
from rscolor.archive.inputs import Scene, collect_scenes
from rscolor.archive.manifest import MANIFEST_NAME, Manifest, Row
from rscolor.archive.targets import OutputTarget
from rscolor.archive.task import Job, SceneResult, TaskSettings, run_scene
from rscolor.errors import UserError


@dataclass
class Summary:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    pixels: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def megapixels_per_second(self) -> float:
        return self.pixels / 1e6 / max(self.seconds, 1e-9)

    def line(self) -> str:
        """The run in one line (seconds: from the first scene handed out to the last result)."""
        return (
            f"{self.done} done, {self.failed} failed, {self.skipped} skipped (already done) "
            f"in {self.seconds:.1f} s, {self.megapixels_per_second:.2f} MP/s"
        )


def manifest_path(out: str, given: Path | None) -> Path:
    if given is not None:
        return given
    if OutputTarget(out).remote:
        raise UserError("an s3:// output needs --manifest PATH (a local file for the run's record)")
    return Path(out) / MANIFEST_NAME


def colorize_archive(
    inputs: list[str],
    out: str,
    settings: TaskSettings,
    cluster: ClusterOptions | None = None,
    retries: int = 0,
    manifest: Path | None = None,
    asset: str | None = None,
    progress: bool = True,
) -> Summary:
    """Colorize every scene of `inputs` into `out` (a folder or an s3:// prefix); the
    manifest records each; the summary says what happened (failures are not raised)."""
    cluster = cluster or ClusterOptions()
    cluster.check()
    if retries < 0:
        raise UserError("--retries must be at least 0")
    target = OutputTarget(out)
    if settings.stac and target.remote:
        raise UserError("--stac writes STAC Items beside local outputs only (not to s3://)")
    scenes = collect_scenes(inputs, out, asset, settings.raster.band)
    if not scenes:
        raise UserError("no images found in the given inputs")
    record = Manifest(manifest_path(out, manifest))
    try:
        summary = Summary()
        jobs = _plan(scenes, record, target, settings.overwrite, summary)
        if jobs:
            _run_jobs(jobs, settings, cluster, retries, record, summary, progress)
        target.cleanup()
        return summary
    finally:
        record.close()


def _plan(
    scenes: list[Scene], record: Manifest, target: OutputTarget, force: bool, summary: Summary
) -> list[Job]:
    """The jobs to run; the rest are counted skipped or failed here."""
    rows = record.rows()
    jobs = []
    for scene in scenes:
        record.plan(scene.source, target.location(scene.name))
        verdict = _verdict(scene, rows.get(scene.source), target, force)
        if isinstance(verdict, Job):
            jobs.append(verdict)
        elif verdict is None:
            summary.skipped += 1
        else:
            record.failed(scene.source, verdict)
            summary.failed += 1
            summary.failures.append((scene.source, verdict))
    return jobs


def _verdict(scene: Scene, row: Row | None, target: OutputTarget, force: bool) -> Job | str | None:
    """A job to run, None to skip (done and verified), or why the scene fails now."""
    if scene.problem:
        return scene.problem
    job = Job(scene.source, scene.name, scene.item_id, scene.datetime)
    if force:
        return job
    if row is not None and row.status == "done":
        problem = target.verify(scene.name, row.checksum)
        if problem is None:
            return None
        return job if problem.endswith("is gone") else problem
    if target.exists(scene.name):
        if row is not None and (row.status == "running" or _lost_by_dask(row)):
            return job  # handed out by a driver that died: the task checks and keeps it
        return f"{target.location(scene.name)} exists (use --force to overwrite)"
    return job


def _lost_by_dask(row: Row) -> bool:
    """A row failed because its workers died (its output, if any, is its own)."""
    return row.status == "failed" and (row.reason or "").startswith("KilledWorker")


def _run_jobs(
    jobs: list[Job],
    settings: TaskSettings,
    cluster: ClusterOptions,
    retries: int,
    record: Manifest,
    summary: Summary,
    progress: bool,
) -> None:
    start = time.perf_counter()
    engine = open_engine(cluster)
    try:
        engine.warm(settings.model)
        if cluster.distributed:
            started = f"started and the model loaded in {time.perf_counter() - start:.1f} s"
            print(f"{engine.description}; {started}", file=sys.stderr)
        with tqdm(total=len(jobs), desc="scenes", unit="scene", disable=not progress) as bar:
            _drive(engine, jobs, settings, retries, record, summary, bar)
    finally:
        engine.close()


def _drive(
    engine: Any,
    jobs: list[Job],
    settings: TaskSettings,
    retries: int,
    record: Manifest,
    summary: Summary,
    bar: tqdm,
) -> None:
    """Submit every job, then take results as they finish; a failure is resubmitted
    until it has had 1 + `retries` tries."""
    tries: dict[str, int] = {}
    pending: dict[Any, Job] = {}
    start = time.perf_counter()

    def submit(job: Job) -> None:
        tries[job.source] = tries.get(job.source, 0) + 1
        record.start(job.source)
        pending[engine.submit(job, settings)] = job

    for job in jobs:
        submit(job)
    while pending:
        for future in engine.wait_first(set(pending)):
            job = pending.pop(future)
            outcome = _result(future, job, engine.result)
            if outcome is None:  # its result was lost with its worker: Dask runs it again
                pending[future] = job
                continue
            result = _finished_before_a_death(outcome, job, settings)
            if not result.ok and tries[job.source] <= retries:
                submit(job)
                continue
            _record(result, record, summary)
            elapsed = time.perf_counter() - start
            bar.set_postfix(
                done=summary.done,
                failed=summary.failed,
                mp_s=f"{summary.pixels / 1e6 / elapsed:.2f}",
                refresh=False,
            )
            bar.update(1)
    summary.seconds = time.perf_counter() - start


def _result(future: Any, job: Job, fetch: Any = None) -> SceneResult | None:
    """The task's result (`fetch(future)`, by default ``future.result()``); a task that
    could not run (its worker died too often, the cluster went away) is a failed result
    with Dask's reason. None: the result was lost with its worker (Dask runs it again)."""
    try:
        return fetch(future) if fetch is not None else future.result()
    except (Exception, CancelledError) as exc:  # Dask's cancelled futures: not Exception
        name = type(exc).__name__
        reason = "its worker died while running it" if name == "KilledWorker" else str(exc)
        return SceneResult(job.source, False, f"{name}: {reason}".splitlines()[0])


def _finished_before_a_death(result: SceneResult, job: Job, settings: TaskSettings) -> SceneResult:
    """A scene that Dask gave up on (its workers died too often) may have been finished: a
    worker publishes an output whole, then reports, and can die in between (a scene beside
    one that kills its worker). Its output, when there, is its own (the runner hands out only
    scenes whose output is absent, unless --force): adopted here as done, never refused."""
    if result.ok or settings.overwrite or not (result.reason or "").startswith("KilledWorker"):
        return result
    try:
        if not OutputTarget(settings.out).exists(job.name):
            return result
    except UserError:
        return result
    return run_scene(job, settings)  # finds the output and adopts it: no model, no write


def _record(result: SceneResult, record: Manifest, summary: Summary) -> None:
    if result.ok:
        record.done(
            result.source, result.seconds, result.pixels, result.checksum or "", result.wrote
        )
        summary.done += 1
        summary.pixels += result.pixels
        return
    reason = result.reason or "failed"
    record.failed(result.source, reason, result.seconds)
    summary.failed += 1
    summary.failures.append((result.source, reason))
    tqdm.write(f"rscolor: failed: {result.source}: {reason}", file=sys.stderr)
