"""Object storage: scenes read through /vsis3/ (and s3:// URLs, and a STAC ItemCollection
whose assets point there), outputs written to an s3:// prefix, against a local
S3-compatible server the test starts on 127.0.0.1: moto's server mode (ThreadedMotoServer)
with its IAM checks on, so every request GDAL makes is signed and checked against a user's
policy. Credentials come from the environment and are never printed nor written to the
manifest or the outputs' records."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from rscolor.archive.runner import colorize_archive
from rscolor.archive.task import ModelSpec, TaskSettings

from .archive_data import make_archive, manifest_rows, reference_outputs, same_pixels
from .helpers import run_cli

pytest.importorskip("moto.server", reason="the object-storage tests need moto[server] (test extra)")

COUNT = 3
REGION = "us-east-1"
# The user GDAL signs as: everything on bucket `data`, nothing on bucket `private`.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*",
                   "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"]}],
}  # fmt: skip


@dataclass
class S3:
    endpoint: str  # http://127.0.0.1:PORT
    key_id: str
    secret: str

    def client(self):
        import boto3

        keys = {"aws_access_key_id": self.key_id, "aws_secret_access_key": self.secret}
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION, **keys)

    def versions(self, prefix: str) -> list[str]:
        """Every version of every object under data/`prefix` (the bucket keeps them all, so
        an object written twice shows twice)."""
        listing = self.client().list_object_versions(Bucket="data", Prefix=prefix)
        return sorted(v["Key"] for v in listing.get("Versions", []))

    def download(self, key: str, path: Path) -> Path:
        self.client().download_file("data", key, str(path))
        return path

    def environment(self) -> dict[str, str]:
        """GDAL's settings for this server, as environment variables (what users set too)."""
        return {
            "AWS_S3_ENDPOINT": self.endpoint.removeprefix("http://"),
            "AWS_HTTPS": "NO",
            "AWS_VIRTUAL_HOSTING": "FALSE",
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_REGION": REGION,
            "GDAL_HTTP_MAX_RETRY": "0",
        }


def _moto_api(endpoint: str, what: str, body: bytes = b"") -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/{what}",
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def _fill(endpoint: str, folder: Path) -> tuple[str, str]:
    """Buckets `data` (versioned, the scenes under in/) and `private` (the same scenes), a
    user allowed only `data`; its (access key id, secret key)."""
    import boto3

    admin = {"endpoint_url": endpoint, "region_name": REGION,
             "aws_access_key_id": "setup", "aws_secret_access_key": "setup"}  # fmt: skip
    s3 = boto3.client("s3", **admin)
    for bucket in ("data", "private"):
        s3.create_bucket(Bucket=bucket)
        for path in sorted(folder.glob("*.tif")):
            s3.put_object(Bucket=bucket, Key=f"in/{path.name}", Body=path.read_bytes())
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    iam = boto3.client("iam", **admin)
    iam.create_user(UserName="colorizer")
    iam.put_user_policy(UserName="colorizer", PolicyName="data-only",
                        PolicyDocument=json.dumps(POLICY))  # fmt: skip
    key = iam.create_access_key(UserName="colorizer")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@contextmanager
def moto_s3(folder: Path) -> Iterator[S3]:
    """moto's server on 127.0.0.1 (a free port, in a thread), filled, with its IAM checks on
    from then on; reset and stopped on exit."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        key_id, secret = _fill(endpoint, folder)
        _moto_api(endpoint, "reset-auth", b"0")  # every request from now on is checked
        yield S3(endpoint, key_id, secret)
    finally:
        try:
            _moto_api(endpoint, "reset-auth", b"inf")  # moto's settings are this process's
            _moto_api(endpoint, "reset")
        finally:
            server.stop()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("s3")
    folder, model = make_archive(root, count=COUNT, size=96)
    return folder, model, reference_outputs(folder, model, root / "reference")


@pytest.fixture
def s3(archive, monkeypatch) -> Iterator[S3]:
    """The server, and GDAL pointed at it through the environment."""
    with moto_s3(archive[0]) as server:
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        yield server


def run(inputs, model, out, manifest, **kw):
    settings = TaskSettings(ModelSpec(str(model), "torch", "cpu", 1), out)
    return colorize_archive(inputs, out, settings, manifest=manifest, progress=False, **kw)


def assert_no_credentials(s3: S3, *texts: str | bytes) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert s3.secret.encode() not in data and s3.key_id.encode() not in data


def manifest_text(path: Path) -> bytes:
    """Every value in the manifest (and its file's bytes, whatever SQLite left in them)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        values = [str(v) for row in db.execute("SELECT * FROM scenes") for v in row]
    finally:
        db.close()
    return path.read_bytes() + "\n".join(values).encode()


def test_read_through_vsis3_write_to_an_s3_prefix_then_a_rerun_does_nothing(
    archive, s3, tmp_path, capsys
):
    """The command line: /vsis3/ and s3:// inputs, an s3:// output prefix; each output a
    valid COG equal to the single-process output, uploaded once; a rerun uploads nothing."""
    from rio_cogeo.cogeo import cog_validate

    _, model, reference = archive
    inputs = ["/vsis3/data/in/s00.tif", "s3://data/in/s01.tif", "/vsis3/data/in/s02.tif"]
    manifest = tmp_path / "run.sqlite"
    command = ["colorize", *inputs, "-o", "s3://data/out", "--manifest", manifest,
               "--checkpoint", model, "--threads", "1"]  # fmt: skip
    code, out, err = run_cli(command, capsys)
    assert code == 0, err
    assert f"{COUNT} done, 0 failed, 0 skipped" in out
    names = [f"out/s{i:02d}.tif" for i in range(COUNT)]
    assert s3.versions("out/") == names  # each written exactly once
    for name in names:
        local = s3.download(name, tmp_path / Path(name).name)
        valid, errors, _ = cog_validate(str(local), strict=True)
        assert valid and not errors, errors
        assert same_pixels(local, reference / local.name)
    rows = manifest_rows(manifest)
    assert {r["output"] for r in rows.values()} == {f"s3://data/{n}" for n in names}
    assert all(r["status"] == "done" and r["writes"] == 1 for r in rows.values())
    code, again, err_again = run_cli(command, capsys)
    assert code == 0 and f"0 done, 0 failed, {COUNT} skipped" in again, err_again
    assert s3.versions("out/") == names  # nothing uploaded again
    assert manifest_rows(manifest) == rows
    assert_no_credentials(s3, manifest_text(manifest), out, err, again, err_again)


def test_a_stac_item_collection_pointing_to_s3(archive, s3, tmp_path):
    """Items whose `pan` assets are on S3 (s3:// and /vsis3/ hrefs), written to an s3://
    prefix; an item without the asset fails alone, with one line."""
    _, model, reference = archive
    hrefs = ["s3://data/in/s00.tif", "/vsis3/data/in/s01.tif"]
    features = [
        {"type": "Feature", "id": f"scene-{i}", "properties": {"datetime": None},
         "assets": {"pan": {"href": href, "roles": ["data"]}}}
        for i, href in enumerate(hrefs)
    ]  # fmt: skip
    features.append({"type": "Feature", "id": "rgb-only", "assets": {"rgb": {"href": "x.tif"}}})
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    manifest = tmp_path / "run.sqlite"
    summary = run([str(stac)], model, "s3://data/stac", manifest, asset="pan")
    assert (summary.done, summary.failed) == (2, 1)
    assert summary.failures == [
        (f"{stac}#rgb-only", "STAC item rgb-only has no asset 'pan' (assets: rgb)")
    ]
    assert s3.versions("stac/") == ["stac/scene-0.tif", "stac/scene-1.tif"]
    local = s3.download("stac/scene-1.tif", tmp_path / "scene-1.tif")
    assert same_pixels(local, reference / "s01.tif")
    row = manifest_rows(manifest)[f"{stac}#rgb-only"]
    assert row["status"] == "failed" and row["reason"].startswith("STAC item rgb-only")
    assert_no_credentials(s3, manifest_text(manifest))


def test_access_denied_and_an_unreachable_url_fail_alone_with_one_line(
    archive, s3, tmp_path, capsys
):
    """A bucket the user's policy does not allow, and a URL nothing answers: each fails with
    one line in the summary and the manifest; the scene beside them is written."""
    _, model, _ = archive
    denied, unreachable = "/vsis3/private/in/s00.tif", "/vsicurl/http://127.0.0.1:9/nothing.tif"
    out = tmp_path / "out"
    summary = run([denied, unreachable, "s3://data/in/s02.tif"], model, str(out), None)
    reasons = dict(summary.failures)
    assert (summary.done, summary.failed) == (1, 2), reasons
    assert "Access Denied" in reasons[denied]
    assert "connect" in reasons[unreachable].lower()
    assert all("\n" not in r for r in reasons.values())
    rows = manifest_rows(out / "rscolor-manifest.sqlite")
    assert {k: r["reason"] for k, r in rows.items() if r["status"] == "failed"} == reasons
    assert (out / "s02.tif").is_file()
    assert_no_credentials(s3, manifest_text(out / "rscolor-manifest.sqlite"),
                          capsys.readouterr().err)  # fmt: skip
