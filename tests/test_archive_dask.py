"""An archive run on a real Dask cluster: a `dask scheduler` and 2 `dask worker` processes
on 127.0.0.1, a dozen small GeoTIFFs, one worker killed (SIGKILL) while it holds a scene.
Every output is a valid COG, written exactly once, equal to the single-process output; the
manifest is consistent; a rerun does nothing."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rscolor.archive.targets import sha256

from .archive_data import make_archive, manifest_rows, reference_outputs, same_pixels
from .helpers import rscolor_command

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).parent / "dask")
SRC = str(Path(__file__).resolve().parents[1] / "src")
SCENES = 12
KILLER = str(Path(__file__).with_name("dask_killer.py"))  # a worker preload
# Generous timeouts: on a loaded machine (other jobs on every core) starting the processes
# alone took minutes; on an idle one the whole module takes about 40 s.


def environment() -> dict[str, str]:
    """This checkout's sources first, for the workers and the driver alike."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[object, Path, list]]:
    """(a client, the scheduler file, the worker processes); all stopped on exit."""
    from distributed import Client

    scheduler_file = folder / "scheduler.json"
    log = open(folder / "cluster.log", "w")  # noqa: SIM115 - closed below
    common = {"env": environment(), "stdout": log, "stderr": subprocess.STDOUT}
    procs = [
        subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                          "--no-dashboard", "--scheduler-file", str(scheduler_file)], **common)
    ]  # fmt: skip
    client = None
    try:
        wait_for(scheduler_file.exists, 300, "the scheduler")
        worker_procs = [
            subprocess.Popen([DASK, "worker", "--scheduler-file", str(scheduler_file),
                              "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                              "--no-dashboard", "--memory-limit", "2GiB", "--name", f"w{i}"],
                             **common)
            for i in range(workers)
        ]  # fmt: skip
        procs += worker_procs
        client = Client(scheduler_file=str(scheduler_file), timeout=120)
        client.wait_for_workers(workers, timeout=900)
        yield client, scheduler_file, worker_procs
    finally:
        if client is not None:
            client.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def kill_a_worker_holding_a_scene(client, manifest: Path, driver) -> list[str]:
    """Once scenes are finishing, SIGKILL a worker while it holds one; its scenes' keys."""
    pids = client.run(os.getpid)
    held: dict[str, list[str]] = {}

    def ready() -> bool:
        assert driver.poll() is None, "the run ended before a worker could be killed"
        try:
            rows = manifest_rows(manifest) if manifest.exists() else {}
        except sqlite3.OperationalError:  # the driver is creating it
            rows = {}
        done = any(r["status"] == "done" for r in rows.values())
        held.update({a: list(k) for a, k in client.processing().items() if k})
        return done and bool(held)

    wait_for(ready, 600, "a worker holding a scene")
    address, keys = next(iter(held.items()))
    os.kill(pids[address], signal.SIGKILL)
    return keys


def test_a_dozen_scenes_on_a_cluster_survive_a_killed_worker(tmp_path: Path) -> None:
    from rio_cogeo.cogeo import cog_validate

    folder, model = make_archive(tmp_path, count=SCENES, size=160)
    reference = reference_outputs(folder, model, tmp_path / "reference")
    out = tmp_path / "out"
    manifest = out / "rscolor-manifest.sqlite"
    with dask_cluster(tmp_path) as (client, scheduler_file, workers):
        command = [*rscolor_command(), "colorize", str(folder), "-o", str(out), "--checkpoint",
                   str(model), "--scheduler-file", str(scheduler_file), "--threads", "1",
                   "--quiet"]  # fmt: skip
        driver = subprocess.Popen(
            command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            killed = kill_a_worker_holding_a_scene(client, manifest, driver)
            stdout, stderr = driver.communicate(timeout=900)
        finally:
            if driver.poll() is None:  # a failed check: never leave the driver running
                driver.kill()
                driver.communicate(timeout=30)
        assert driver.returncode == 0, stderr
        assert f"{SCENES} done, 0 failed, 0 skipped" in stdout
        assert killed and sum(w.poll() is not None for w in workers) == 1
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 1, 30, "the worker's loss")
        rows = manifest_rows(manifest)
        assert len(rows) == SCENES
        # A scene the killed worker had already published (between `processing()` and the
        # kill) is adopted when Dask re-runs it: done, written once, by the dead worker.
        adopted = [row for row in rows.values() if row["writes"] == 0]
        assert len(adopted) <= len(killed), adopted
        for row in rows.values():
            output = Path(row["output"])
            assert row["status"] == "done" and row["reason"] is None
            assert row["writes"] in (0, 1) and row["attempts"] == 1  # Dask re-ran the lost ones
            assert row["checksum"] == sha256(output)
            valid, errors, _ = cog_validate(str(output), strict=True)
            assert valid and not errors, errors
            assert same_pixels(output, reference / output.name)
        left = {p.name for p in out.iterdir()} - {p.name for p in out.glob(manifest.name + "*")}
        assert left == {f"s{i:02d}.tif" for i in range(SCENES)}  # no staging, no temporary
        stamps = {p: p.stat().st_mtime_ns for p in out.glob("*.tif")}
        rerun = subprocess.run(command, env=environment(), capture_output=True, text=True,
                               timeout=900)  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr
        assert f"0 done, 0 failed, {SCENES} skipped" in rerun.stdout
        assert stamps == {p: p.stat().st_mtime_ns for p in out.glob("*.tif")}
        assert manifest_rows(manifest) == rows


def test_a_local_cluster_from_the_command_line_with_bad_scenes(tmp_path: Path) -> None:
    """--workers 2: a local cluster; a missing file and a broken one fail alone, with a
    reason each, the rest is written, the exit is non-zero with one error line."""
    folder, model = make_archive(tmp_path, count=3, size=96)
    (folder / "broken.tif").write_bytes(b"not a tiff")
    listing = tmp_path / "scenes.txt"
    listing.write_text("in/s00.tif\nin/s01.tif\nin/s02.tif\nin/broken.tif\nin/missing.tif\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [*rscolor_command(), "colorize", f"@{listing}", "-o", str(out), "--checkpoint",
         str(model), "--workers", "2", "--retries", "1", "--quiet"],
        env=environment(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "3 done, 2 failed, 0 skipped" in proc.stdout
    assert "Dask scheduler tcp://127.0.0.1:" in proc.stderr and "2 worker(s)" in proc.stderr
    assert "dashboard: " in proc.stderr  # its address, or how to get one (bokeh)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rscolor: error:")]
    assert len(errors) == 1 and "2 of 5 scene(s) failed" in errors[0]
    rows = manifest_rows(out / "rscolor-manifest.sqlite")
    broken = rows[str(folder / "broken.tif")]
    assert broken["status"] == "failed" and broken["attempts"] == 2
    assert "broken.tif" in broken["reason"]
    assert rows[str(folder / "missing.tif")]["reason"].startswith("input not found")
    assert sorted(p.name for p in out.glob("*.tif")) == ["s00.tif", "s01.tif", "s02.tif"]


def test_a_scene_that_kills_its_worker_fails_alone_and_the_run_ends(tmp_path: Path) -> None:
    """--workers 2, a scene that SIGKILLs every worker that runs it, Dask allowing one death
    per task. The run used to hang (3 runs in 5): the driver blocked on a result lost with
    its worker, or waited forever on a cluster whose nannies had stopped restarting
    workers. Now it ends: the killer fails with one line, the scenes beside it are done
    (or, a worker died under them too, failed with the same line), nothing stays
    `running`; or, no worker left, the run ends with one error line after the wait."""
    import dask
    import distributed  # noqa: F401 - its config exists before it is changed (and restored)

    from rscolor.archive.engines import ClusterOptions
    from rscolor.archive.runner import colorize_archive
    from rscolor.archive.task import ModelSpec, TaskSettings
    from rscolor.errors import UserError

    folder, model = make_archive(tmp_path, count=3, size=96)
    shutil.copy(folder / "s00.tif", folder / "kill.tif")
    out, killer = tmp_path / "out", str(folder / "kill.tif")
    settings = TaskSettings(ModelSpec(str(model), "torch", "cpu", 1), str(out))
    cluster = ClusterOptions(workers=2, no_workers_wait=30)
    lost = "KilledWorker: its worker died while running it"
    config = {"distributed.worker.preload": [KILLER], "distributed.scheduler.allowed-failures": 1}
    with dask.config.set(config):
        try:
            summary = colorize_archive([str(folder)], str(out), settings, cluster, progress=False)
        except UserError as exc:  # the nannies stopped restarting workers (Dask's race)
            assert str(exc).startswith("no Dask worker left for 30 s") and "\n" not in str(exc)
            assert manifest_rows(out / "rscolor-manifest.sqlite")[killer]["status"] != "done"
            print("outcome: no worker left")
            return
    rows = manifest_rows(out / "rscolor-manifest.sqlite")
    assert (rows[killer]["status"], rows[killer]["reason"]) == ("failed", lost)
    assert (killer, lost) in summary.failures and summary.done + summary.failed == 4
    for row in rows.values():
        assert row["status"] == "done" or (row["status"], row["reason"]) == ("failed", lost)
        assert (row["status"] == "done") == Path(row["output"]).exists()
    print(f"outcome: {summary.line()}")


def test_the_driver_ends_on_a_cluster_without_workers_and_on_an_error_never_read(
    tmp_path: Path, monkeypatch
) -> None:
    """A task whose error Dask's client cannot read back (a traceback that does not pickle:
    the client fails an assertion and the future stays pending) is failed by the driver
    once the scheduler has it as erred twice; a cluster with no worker left ends the run
    after `no_workers_wait` seconds with one line (Dask alone waits forever)."""
    from distributed import LocalCluster

    from rscolor.archive import engines
    from rscolor.archive.runner import _result
    from rscolor.archive.task import Job
    from rscolor.errors import UserError

    monkeypatch.setattr(engines, "STATUS_CHECK", 0.5)
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                      dashboard_address=None) as cluster:  # fmt: skip
        options = engines.ClusterOptions(scheduler=cluster.scheduler_address, no_workers_wait=2)
        engine = engines.DaskEngine(options)
        try:
            future = engine.client.submit(_recurse, pure=False)
            assert engine.wait_first({future}) == {future}
            assert future.status == "pending"  # the client never heard of the error
            result = _result(future, Job("/a.tif", "a.tif"), engine.result)
            assert result is not None and not result.ok
            assert result.reason == (
                "RuntimeError: the task failed and Dask could not read back its error"
            )
            waiting = engine.client.submit(time.sleep, 300, pure=False)
            cluster.scale(0)
            with pytest.raises(UserError, match="^no Dask worker left for 2 s"):
                engine.wait_first({waiting})
        finally:
            engine.close()


def _recurse(depth: int = 0) -> int:
    return _recurse(depth + 1)
