"""``obstac read`` (whole objects, byte ranges) and ``obstac info`` (recipe, store, credential
source, sizes, what a download would skip), against the HTTP origin and moto."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from obstac.cli import READ_CHUNK, main
from obstac.testing import MotoServer, RangeHTTPServer
from obstac.testing.http_origin import RecordedRequest, Response

BIN = Path(sys.executable).parent


def run_obstac(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    script = BIN / "obstac"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "obstac.cli"]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.fixture
def prefix() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


# -- read ------------------------------------------------------------------------------------


def test_read_ranges_in_every_form(
    tmp_path: Path, http_origin: RangeHTTPServer, prefix: str
) -> None:
    data = os.urandom(200_000)
    http_origin.put(f"{prefix}/a.bin", data)
    href = f"{http_origin.url}/{prefix}/a.bin"
    http_origin.clear_requests()

    # Two closed ranges go to read_ranges together, which merges them into one request.
    done = run_obstac(["read", href, "--range", "0-99", "--range", "50000-50099"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == data[:100] + data[50_000:50_100]
    assert http_origin.count("GET", f"{prefix}/a.bin") == 1

    # START-, -N (suffix) and a comma list, written to a file.
    out = tmp_path / "parts.bin"
    done = run_obstac(["read", href, "--range", "199990-,-5", "--range", "7-7", "-o", str(out)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert out.read_bytes() == data[199_990:] + data[-5:] + data[7:8]


def test_read_whole_objects_in_bounded_chunks(
    tmp_path: Path, http_origin: RangeHTTPServer, prefix: str
) -> None:
    big = os.urandom(READ_CHUNK + 1000)
    http_origin.put(f"{prefix}/big.bin", big)
    http_origin.put(f"{prefix}/empty.bin", b"")
    http_origin.clear_requests()

    out = tmp_path / "big.bin"
    done = run_obstac(["read", f"{http_origin.url}/{prefix}/big.bin", "-o", str(out)])
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == big
    assert http_origin.count("GET", f"{prefix}/big.bin") == 2  # 8 MiB, then the rest

    done = run_obstac(["read", f"{http_origin.url}/{prefix}/empty.bin"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""


def test_read_from_s3_with_a_recipe(moto_server: MotoServer, prefix: str) -> None:
    bucket = f"obstac-cli-read-{uuid.uuid4().hex[:6]}"
    moto_server.create_bucket(bucket)
    data = os.urandom(5000)
    moto_server.put(bucket, f"{prefix}/scene.tif", data)
    keys = {"AWS_ACCESS_KEY_ID": "AKIACLITEST", "AWS_SECRET_ACCESS_KEY": "cli-read-secret"}
    done = run_obstac(
        [
            "read",
            f"s3://{bucket}/{prefix}/scene.tif",
            "--recipe",
            "s3",
            "--s3-endpoint",
            moto_server.url,
            "--range",
            "16-31",
            "--range",
            "-8",
        ],
        env=keys,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == data[16:32] + data[-8:]


def test_read_errors_and_their_exit_codes(http_origin: RangeHTTPServer, prefix: str) -> None:
    http_origin.put(f"{prefix}/small.bin", b"0123456789")
    href = f"{http_origin.url}/{prefix}/small.bin"

    missing = run_obstac(
        ["read", f"{http_origin.url}/{prefix}/nothing.bin", "--recipe", "http", "--retries", "0"]
    )
    assert missing.returncode == 1
    assert b"AssetNotFoundError" in missing.stderr
    assert b"Traceback" not in missing.stderr

    past_end = run_obstac(["read", href, "--range", "100-200"])
    assert past_end.returncode == 2
    assert b"past the end" in past_end.stderr

    for bad in ("5-2", "x-1", "-0", "-"):
        assert main(["read", href, "--range", bad]) == 2, bad
    wrong_recipe = run_obstac(["read", href, "--recipe", "s3"])
    assert wrong_recipe.returncode == 2
    assert b"cannot read" in wrong_recipe.stderr


class BusyOrigin(RangeHTTPServer):
    """An origin that answers every request with 503."""

    def handle(self, request: RecordedRequest) -> Response | None:
        return Response(503, {"Content-Type": "text/plain"}, b"busy")


def test_retries_flag_reaches_the_store(tmp_path: Path) -> None:
    """--retries N is obstore's max_retries: N + 1 requests for an origin that stays busy."""
    with BusyOrigin() as busy:
        for retries, requests in (("0", 1), ("2", 3)):
            busy.clear_requests()
            done = run_obstac(
                ["read", f"{busy.url}/a.bin", "--recipe", "http", "--retries", retries]
            )
            assert done.returncode == 1
            assert b"503" in done.stderr
            assert busy.count("GET", "a.bin") == requests


# -- info ------------------------------------------------------------------------------------


def _item(item_id: str, assets: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": "cli-info",
        "geometry": None,
        "properties": {"datetime": "2024-05-17T10:00:00Z"},
        "links": [],
        "assets": assets,
    }


def test_info_names_recipe_and_credential_source_never_the_secret(
    tmp_path: Path, http_origin: RangeHTTPServer, moto_server: MotoServer, prefix: str
) -> None:
    token = f"glpat-{uuid.uuid4().hex}"
    aws_secret = f"aws-secret-{uuid.uuid4().hex}"
    bucket = f"obstac-cli-info-{uuid.uuid4().hex[:6]}"
    moto_server.create_bucket(bucket)
    moto_server.put(bucket, f"{prefix}/B04.tif", b"x" * 4096)
    http_origin.put(f"{prefix}/model.bin", b"m" * 1234)
    item = _item(
        "scene",
        {
            "model": {"href": f"{http_origin.url}/{prefix}/model.bin", "roles": ["data"]},
            "B04": {"href": f"s3://{bucket}/{prefix}/B04.tif", "roles": ["data", "reflectance"]},
        },
    )
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item))
    env = {
        # The http origin plays a SharingHub server; its token must never be shown.
        "SHARINGHUB_URL": http_origin.url,
        "SHARINGHUB_TOKEN": token,
        "AWS_ACCESS_KEY_ID": "AKIACLITEST",
        "AWS_SECRET_ACCESS_KEY": aws_secret,
    }
    s3 = ["--recipe", "s3", "--s3-endpoint", moto_server.url]

    # Without --head: no request at all.
    http_origin.clear_requests()
    table = run_obstac(["info", str(source), *s3], env=env)
    assert table.returncode == 0, table.stderr
    assert http_origin.requests == [], http_origin.requests
    shown = table.stdout.decode()
    assert "sharinghub" in shown
    assert "env SHARINGHUB_TOKEN" in shown, shown
    assert "env AWS_ACCESS_KEY_ID" in shown, shown
    assert "reflectance" in shown

    # With --head and --json: one HEAD each, sizes, and still no secret.
    done = run_obstac(["info", str(source), "--head", "--json", *s3], env=env)
    assert done.returncode == 0, done.stderr
    rows = {row["asset"]: row for row in map(json.loads, done.stdout.decode().splitlines())}
    assert rows["model"]["recipe"] == "sharinghub"
    assert rows["model"]["credential_source"] == "env SHARINGHUB_TOKEN"
    assert (rows["model"]["size"], rows["model"]["size_source"]) == (1234, "HEAD")
    assert rows["B04"]["recipe"] == "s3"
    assert rows["B04"]["credential_source"] == "env AWS_ACCESS_KEY_ID"
    assert rows["B04"]["size"] == 4096
    assert rows["B04"]["store"].startswith("S3Store(bucket=")
    assert http_origin.count("HEAD", f"{prefix}/model.bin") == 1, http_origin.requests
    # The token was used (SharingHub's probe and the HEAD carry it) ...
    sent = {r.headers.get("x-gitlab-token") for r in http_origin.requests}
    assert sent == {token}, http_origin.requests
    # ... and appears in no output.
    for output in (table.stdout, table.stderr, done.stdout, done.stderr):
        assert token.encode() not in output
        assert aws_secret.encode() not in output


def test_info_says_what_a_download_would_skip(
    tmp_path: Path, http_origin: RangeHTTPServer, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    same, changed, absent = b"a" * 100, b"b" * 100, b"c" * 100
    for name, data in (("same", same), ("changed", changed), ("absent", absent)):
        http_origin.put(f"{prefix}/{name}.bin", data)
    item = _item(
        "scene",
        {
            name: {
                "href": f"{http_origin.url}/{prefix}/{name}.bin",
                "file:size": 100,
                "file:checksum": "1220" + hashlib.sha256(data).hexdigest(),
            }
            for name, data in (("same", same), ("changed", changed), ("absent", absent))
        },
    )
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item))
    folder = tmp_path / "dest" / "cli-info" / "scene"
    folder.mkdir(parents=True)
    (folder / "same.bin").write_bytes(same)
    (folder / "changed.bin").write_bytes(b"x" * 100)  # right size, wrong bytes

    assert main(["info", str(source), "--dest", str(tmp_path / "dest"), "--json"]) == 0
    rows = {row["asset"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["same"]["action"] == "skip"
    assert rows["same"]["reason"] == "on disk, file:checksum matches"
    assert rows["changed"]["action"] == "download"
    assert rows["changed"]["reason"] == "on disk, but file:checksum differs"
    assert rows["absent"]["action"] == "download"
    assert rows["absent"]["target"] == str(folder / "absent.bin")

    # After a real download, info agrees with what the next download does: skip everything.
    done = run_obstac(["download", str(source), "-o", str(tmp_path / "dest"), "-q"])
    assert done.returncode == 0, done.stderr
    assert main(["info", str(source), "--dest", str(tmp_path / "dest"), "--json"]) == 0
    rows = {row["asset"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {row["action"] for row in rows.values()} == {"skip"}
    again = run_obstac(["download", str(source), "-o", str(tmp_path / "dest"), "--json"])
    summary = json.loads(again.stderr.decode().splitlines()[-1])
    assert (summary["skipped"], summary["downloaded"]) == (3, 0)


def test_info_of_one_href_and_of_stdin(
    http_origin: RangeHTTPServer,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    http_origin.put(f"{prefix}/one.tif", b"1" * 10)
    href = f"{http_origin.url}/{prefix}/one.tif"
    assert main(["info", href, "--head", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["item"], row["asset"], row["recipe"], row["size"]) == (None, None, "http", 10)
    assert row["credential_source"] == "anonymous"

    # A missing object: info reports it per asset and exits 1.
    assert main(["info", f"{http_origin.url}/{prefix}/missing.tif", "--head", "--json"]) == 1
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["error"].startswith("AssetNotFoundError")

    # Items on stdin, filtered like download; an unsupported href is an error row, not a crash.
    item = _item("s", {"a": {"href": href, "roles": ["data"]}, "b": {"href": "nope://x/y"}})
    stdin = json.dumps({"type": "FeatureCollection", "features": [item]}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    monkeypatch.setenv("COLUMNS", "250")  # the table is as wide as COLUMNS says
    assert main(["info", "-"]) == 1
    out = capsys.readouterr().out
    assert "UnsupportedHrefError" in out
    assert "http" in out


def test_demo_options_reach_the_demo_in_order() -> None:
    # `obstac demo --profile lan` once handed ["lan", "--profile"] to the demo (exit 2).
    from obstac.cli import main

    assert main(["demo", "--profile", "lan", "--help"]) == 0


def test_info_takes_roles_however_an_item_spells_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `"roles": "data"` is one role (not d, a, t); a dict among roles is skipped, not a crash.
    item = _item(
        "scene",
        {
            "B04": {"href": "http://127.0.0.1:9/B04.tif", "roles": "data"},
            "thumb": {"href": "http://127.0.0.1:9/t.png", "roles": [{"x": 1}, "thumbnail"]},
        },
    )
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item))
    assert main(["info", str(source), "--role", "data", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["asset"], row["roles"]) for row in rows] == [("B04", ["data"])]
    assert main(["info", str(source), "--role", "d", "--json"]) == 0
    assert capsys.readouterr().out.strip() == ""
    assert main(["info", str(source), "--role", "thumbnail", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["asset"], row["roles"]) for row in rows] == [("thumb", ["thumbnail"])]
