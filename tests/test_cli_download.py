"""``obstac download`` as users run it: real processes, piped from ``stac-client search``, NDJSON
and Item files, against moto and the HTTP origin; exit codes, rewritten JSON, event streams."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from obstac.cli import main
from obstac.testing import MotoServer, RangeHTTPServer
from obstac.testing.moto import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from obstac.testing.stac_api import StacAPIDouble

BIN = Path(sys.executable).parent
COLLECTION = "cli-test"
TIMEOUT = 60


def obstac_command() -> list[str]:
    """The installed ``obstac`` console script (as users run it), else ``python -m``."""
    script = BIN / "obstac"
    return [str(script)] if script.exists() else [sys.executable, "-m", "obstac.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of the CLI processes: moto's test keys, no colours forced, plus extra."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    }
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY)
    env["COLUMNS"] = "250"  # tables on stderr are as wide as COLUMNS says
    env.update(extra)
    return env


def run_obstac(
    args: Sequence[str], *, stdin: bytes | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*obstac_command(), *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=dict(env) if env is not None else cli_env(),
        timeout=TIMEOUT,
        check=False,
    )


def sha256_multihash(data: bytes) -> str:
    return "1220" + hashlib.sha256(data).hexdigest()


@dataclass
class Catalog:
    """Three items: a data asset on moto (s3://) and a thumbnail on the HTTP origin each."""

    items: list[dict[str, Any]]
    data: dict[str, bytes]  # "item/asset" -> bytes
    moto: MotoServer
    origin: RangeHTTPServer
    prefix: str

    @property
    def s3_flags(self) -> list[str]:
        return ["--recipe", "s3", "--s3-endpoint", self.moto.url]

    def with_missing_thumbnail(self, item_id: str) -> list[dict[str, Any]]:
        """The items, with ``item_id``'s thumbnail pointing at an object that does not exist."""
        items: list[dict[str, Any]] = json.loads(json.dumps(self.items))
        for item in items:
            if item["id"] == item_id:
                item["assets"]["thumbnail"]["href"] = f"{self.origin.url}/{self.prefix}/gone.png"
        return items


def feature(item_id: str, assets: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": COLLECTION,
        "geometry": None,
        "properties": {"datetime": "2024-05-17T10:00:00Z"},
        "links": [],
        "assets": assets,
    }


@pytest.fixture(scope="module")
def catalog(moto_server: MotoServer, http_origin: RangeHTTPServer) -> Catalog:
    bucket = f"obstac-cli-{uuid.uuid4().hex[:8]}"
    moto_server.create_bucket(bucket)
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    items: list[dict[str, Any]] = []
    data: dict[str, bytes] = {}
    for number in range(3):
        item_id = f"scene-{number}"
        band = os.urandom(512 * 1024 + number)
        thumb = os.urandom(2048 + number)
        moto_server.put(bucket, f"{prefix}/{item_id}/B04.tif", band)
        http_origin.put(f"{prefix}/{item_id}/thumb.png", thumb)
        data[f"{item_id}/B04"] = band
        data[f"{item_id}/thumbnail"] = thumb
        items.append(
            feature(
                item_id,
                {
                    "B04": {
                        "href": f"s3://{bucket}/{prefix}/{item_id}/B04.tif",
                        "roles": ["data"],
                        "file:size": len(band),
                        "file:checksum": sha256_multihash(band),
                    },
                    "thumbnail": {
                        "href": f"{http_origin.url}/{prefix}/{item_id}/thumb.png",
                        "roles": ["thumbnail"],
                    },
                },
            )
        )
    return Catalog(items, data, moto_server, http_origin, prefix)


@dataclass
class Piped:
    search: subprocess.CompletedProcess[bytes]
    download: subprocess.CompletedProcess[bytes]
    pages: int

    @property
    def stderr(self) -> str:
        return self.download.stderr.decode()

    @property
    def collection(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.download.stdout)
        return document


def pipe_search_into_download(
    items: list[dict[str, Any]], search_args: Sequence[str], download_args: Sequence[str]
) -> Piped:
    """``stac-client search <api> ARGS | obstac download ARGS``, two real processes."""
    env = cli_env()
    with StacAPIDouble(items) as api:
        search = subprocess.Popen(
            [str(BIN / "stac-client"), "search", api.url, *search_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        download = subprocess.Popen(
            [*obstac_command(), "download", *download_args],
            stdin=search.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert search.stdout is not None
        search.stdout.close()  # the download process owns the read end now
        out, err = download.communicate(timeout=TIMEOUT)
        _, search_err = search.communicate(timeout=TIMEOUT)
        pages = api.pages_served
    return Piped(
        subprocess.CompletedProcess(search.args, search.returncode, b"", search_err),
        subprocess.CompletedProcess(download.args, download.returncode, out, err),
        pages,
    )


def assert_downloaded(root: Path, catalog: Catalog, item_id: str) -> None:
    folder = root / COLLECTION / item_id
    assert (folder / "B04.tif").read_bytes() == catalog.data[f"{item_id}/B04"]
    assert (folder / "thumb.png").read_bytes() == catalog.data[f"{item_id}/thumbnail"]
    assert (folder / f"{item_id}.json").is_file()


# -- the pipe --------------------------------------------------------------------------------


def test_stac_client_search_piped_into_download(tmp_path: Path, catalog: Catalog) -> None:
    catalog.origin.clear_requests()
    piped = pipe_search_into_download(
        catalog.items,
        ["-c", COLLECTION, "--max-items", "3", "--limit", "2"],
        ["-o", str(tmp_path), *catalog.s3_flags],
    )
    assert piped.search.returncode == 0, piped.search.stderr.decode()
    assert piped.download.returncode == 0, piped.stderr
    assert piped.pages == 2  # stac-client paged through the API (limit 2, 3 items)

    for number in range(3):
        assert_downloaded(tmp_path, catalog, f"scene-{number}")
    thumbnails = [r for r in catalog.origin.requests if r.path.endswith("thumb.png")]
    assert len(thumbnails) == 3, "one GET per small thumbnail"

    # stdout: the rewritten ItemCollection, one compact line, as stac-client prints it.
    assert piped.download.stdout.count(b"\n") == 1
    collection = piped.collection
    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == ["scene-0", "scene-1", "scene-2"]
    for feature_out, feature_in in zip(collection["features"], catalog.items, strict=True):
        band = feature_out["assets"]["B04"]
        assert band["href"] == "./B04.tif"
        assert band["alternate"]["origin"]["href"] == feature_in["assets"]["B04"]["href"]
        assert band["file:checksum"] == feature_in["assets"]["B04"]["file:checksum"]
        thumb = feature_out["assets"]["thumbnail"]
        assert thumb["href"] == "./thumb.png"
        assert thumb["file:size"] == len(catalog.data[f"{feature_out['id']}/thumbnail"])
        self_link = next(link for link in feature_out["links"] if link["rel"] == "self")
        written = Path(self_link["href"])
        assert written == tmp_path / COLLECTION / feature_out["id"] / f"{feature_out['id']}.json"
        assert json.loads(written.read_text())["assets"] == feature_out["assets"]

    # stderr is not a terminal: plain lines, no escape codes, a summary.
    stderr = piped.stderr
    assert "\x1b[" not in stderr
    assert stderr.count("obstac: done") == 6
    assert "6 assets of 3 items: 6 downloaded, 0 resumed, 0 skipped, 0 failed" in stderr


def test_a_missing_asset_exits_1_with_a_table_of_failures(tmp_path: Path, catalog: Catalog) -> None:
    items = catalog.with_missing_thumbnail("scene-1")
    args = ["-o", str(tmp_path), *catalog.s3_flags]
    piped = pipe_search_into_download(items, [], args)
    assert piped.search.returncode == 0
    assert piped.download.returncode == 1, piped.stderr

    stderr = piped.stderr
    assert "1 asset(s) not downloaded and verified" in stderr
    table = stderr[stderr.index("1 asset(s) not downloaded") :]
    assert "scene-1" in table
    assert "thumbnail" in table
    assert "AssetNotFoundError" in table
    assert "gone.png" in table
    assert "1 of 6 assets failed" in stderr

    # Everything else is on disk, and stdout still carries every item: the failed asset keeps
    # its original href, so a later run (or another tool) can still fetch it.
    assert_downloaded(tmp_path, catalog, "scene-0")
    assert_downloaded(tmp_path, catalog, "scene-2")
    assert (tmp_path / COLLECTION / "scene-1" / "B04.tif").is_file()
    assert not (tmp_path / COLLECTION / "scene-1" / "gone.png").exists()
    by_id = {f["id"]: f for f in piped.collection["features"]}
    assert set(by_id) == {"scene-0", "scene-1", "scene-2"}
    broken = by_id["scene-1"]["assets"]["thumbnail"]
    assert broken["href"] == f"{catalog.origin.url}/{catalog.prefix}/gone.png"
    assert by_id["scene-1"]["assets"]["B04"]["href"] == "./B04.tif"

    # Run again: what is there is proven identical and skipped; the missing one fails again.
    again = pipe_search_into_download(items, [], args)
    assert again.download.returncode == 1
    assert again.stderr.count("obstac: skip") == 5
    assert "5 skipped, 1 failed" in again.stderr


def test_an_asset_that_cannot_be_verified_exits_1(tmp_path: Path, catalog: Catalog) -> None:
    """On disk is not enough: a file:checksum obstac cannot interpret leaves the asset
    unverified, and the exit code says so."""
    item = json.loads(json.dumps(catalog.items[0]))
    item["assets"]["thumbnail"]["file:checksum"] = "abcdef"  # no known algorithm
    done = run_obstac(
        ["download", "-o", str(tmp_path), "--include", "thumbnail"],
        stdin=json.dumps(item).encode(),
    )
    assert done.returncode == 1
    stderr = done.stderr.decode()
    assert "1 downloaded" in stderr
    assert "1 not verified" in stderr
    assert "NotVerified" in stderr
    thumb = tmp_path / COLLECTION / "scene-0" / "thumb.png"
    assert thumb.read_bytes() == catalog.data["scene-0/thumbnail"]


def test_mirror_into_a_store_url(catalog: Catalog) -> None:
    """DEST as s3://: the --recipe that reads the bucket writes the mirror too."""
    mirror = f"mirror-{uuid.uuid4().hex[:8]}"
    bucket = catalog.items[0]["assets"]["B04"]["href"].split("/")[2]
    items = "".join(json.dumps(item) + "\n" for item in catalog.items[:2]).encode()
    done = run_obstac(
        ["download", "-o", f"s3://{bucket}/{mirror}", "--layout", "{id}", *catalog.s3_flags],
        stdin=items,
    )
    assert done.returncode == 0, done.stderr.decode()
    client = catalog.moto.client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{mirror}/")
    keys = sorted(entry["Key"] for entry in listed.get("Contents", []))
    assert keys == [
        f"{mirror}/scene-{n}/{name}"
        for n in range(2)
        for name in ("B04.tif", f"scene-{n}.json", "thumb.png")
    ]
    body = client.get_object(Bucket=bucket, Key=f"{mirror}/scene-1/B04.tif")["Body"].read()
    assert body == catalog.data["scene-1/B04"]
    first = json.loads(done.stdout)["features"][0]
    self_link = next(link for link in first["links"] if link["rel"] == "self")
    assert self_link["href"] == f"s3://{bucket}/{mirror}/scene-0/scene-0.json"


# -- other inputs ----------------------------------------------------------------------------


def test_ndjson_on_stdin_as_rustac_writes_it(tmp_path: Path, catalog: Catalog) -> None:
    ndjson = "".join(json.dumps(item) + "\n" for item in catalog.items).encode()
    done = run_obstac(["download", "-", "-o", str(tmp_path), *catalog.s3_flags], stdin=ndjson)
    assert done.returncode == 0, done.stderr.decode()
    for number in range(3):
        assert_downloaded(tmp_path, catalog, f"scene-{number}")
    assert len(json.loads(done.stdout)["features"]) == 3


def test_an_item_file_with_a_relative_href_and_a_selection(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A pretty-printed Item file: its relative href resolves against the file; --role keeps
    the data assets only; --layout puts them straight in DEST."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "notes.txt").write_bytes(b"local notes\n")
    item = json.loads(json.dumps(catalog.items[0]))
    item["assets"]["notes"] = {"href": "./notes.txt", "roles": ["data", "metadata"]}
    (source / "item.json").write_text(json.dumps(item, indent=2))
    dest = tmp_path / "dest"

    done = run_obstac(
        [
            "download",
            str(source / "item.json"),
            "-o",
            str(dest),
            "--role",
            "data",
            "--layout",
            "{id}",
            "--output-json",
            str(tmp_path / "written.json"),
            *catalog.s3_flags,
        ]
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""  # the JSON went to --output-json
    assert (dest / "scene-0" / "B04.tif").read_bytes() == catalog.data["scene-0/B04"]
    assert (dest / "scene-0" / "notes.txt").read_bytes() == b"local notes\n"
    assert not (dest / "scene-0" / "thumb.png").exists()
    written = json.loads((tmp_path / "written.json").read_text())
    assets = written["features"][0]["assets"]
    assert assets["notes"]["href"] == "./notes.txt"
    assert assets["notes"]["alternate"]["origin"]["href"] == (source / "notes.txt").as_posix()
    assert assets["thumbnail"]["href"] == catalog.items[0]["assets"]["thumbnail"]["href"]


def test_a_pretty_printed_item_on_stdin(tmp_path: Path, catalog: Catalog) -> None:
    pretty = json.dumps(catalog.items[2], indent=2).encode()
    done = run_obstac(
        ["download", "-o", str(tmp_path), "--include", "thumbnail", "-q"], stdin=pretty
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""  # --quiet and nothing failed
    folder = tmp_path / COLLECTION / "scene-2"
    assert (folder / "thumb.png").read_bytes() == catalog.data["scene-2/thumbnail"]
    assert not (folder / "B04.tif").exists()


# -- machines: --json --------------------------------------------------------------------------


def test_json_events_parse_line_by_line_and_redact_header_secrets(
    tmp_path: Path, catalog: Catalog
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    catalog.origin.clear_requests()
    items = catalog.with_missing_thumbnail("scene-0")
    done = run_obstac(
        [
            "download",
            "-o",
            str(tmp_path),
            "--include",
            "thumbnail",
            "--json",
            "--recipe",
            "http",
            "--header",
            f"Authorization: Bearer {secret}",
        ],
        stdin=json.dumps({"type": "FeatureCollection", "features": items}).encode(),
    )
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    kinds = [event["event"] for event in events]
    assert kinds.count("start") == 3
    assert kinds.count("done") == 2
    assert kinds.count("fail") == 1
    assert kinds[-1] == "summary"
    summary = events[-1]
    assert summary["ok"] is False
    assert summary["exit_code"] == 1
    assert (summary["assets"], summary["downloaded"], summary["failed"]) == (3, 2, 1)
    assert summary["failures"][0]["item"] == "scene-0"
    assert summary["failures"][0]["error"] == "AssetNotFoundError"
    for event in events[:-1]:
        assert set(event) >= {"job", "href", "target", "bytes", "total", "message", "time"}
    # The header went to the origin, and nowhere into the output.
    sent = [
        r.headers.get("authorization")
        for r in catalog.origin.requests
        if r.path.startswith(catalog.prefix)
    ]
    assert len(sent) == 3
    assert set(sent) == {f"Bearer {secret}"}
    assert secret not in done.stderr.decode()
    assert secret not in done.stdout.decode()


# -- exit code 2 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"this is not json\n", "stdin is not JSON nor NDJSON"),
        (b'{"type": "FeatureCollection", "features": [{"type": "Fea', "truncated"),
    ],
    ids=["not-json", "truncated"],
)
def test_invalid_input_exits_2_with_a_message(tmp_path: Path, stdin: bytes, message: str) -> None:
    done = run_obstac(["download", "-o", str(tmp_path)], stdin=stdin)
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert message in stderr
    assert "Traceback" not in stderr
    assert done.stdout == b""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"", "stdin is empty"),
        (b"\n  \n", "stdin is empty"),
        (b'{"type": "Collection", "id": "c"}\n', "got a dict with type 'Collection'"),
        (b"[1, 2]\n", "a JSON list is not a STAC Item"),
        (b'{"type": "Feature"}\n', "needs a non-empty string 'id'"),
        (b"\xff\xfe{}\n", "not UTF-8"),
    ],
    ids=["empty", "blank", "a-collection", "a-list", "no-id", "not-utf8"],
)
def test_more_invalid_inputs_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: bytes,
    message: str,
) -> None:
    """In-process (``main(argv)`` with a piped stdin), to keep the suite fast."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert main(["download", "-o", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


def test_a_broken_ndjson_line_exits_2_after_the_lines_before_it(
    tmp_path: Path, catalog: Catalog
) -> None:
    good = json.dumps(catalog.items[1]) + "\n"
    done = run_obstac(
        ["download", "-o", str(tmp_path), "--include", "thumbnail"],
        stdin=(good + '{"type": "Feature", "id": \n').encode(),
    )
    assert done.returncode == 2
    assert "stdin, line 2: not JSON" in done.stderr.decode()


def test_an_unknown_flag_exits_2(tmp_path: Path) -> None:
    done = run_obstac(["download", "-o", str(tmp_path), "--no-such-flag"])
    assert done.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in done.stderr.decode()
    assert b"Traceback" not in done.stderr


def test_bad_usage_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same checks in-process (``main(argv)``), to keep the suite fast."""
    item = tmp_path / "item.json"
    item.write_text(json.dumps(feature("x", {})))
    out = str(tmp_path / "out")
    cases: list[tuple[list[str], str]] = [
        (["download", str(item)], "the following arguments are required: -o/--dest"),
        (["download", str(item), "-o", out, "--concurrency", "0"], "must be at least 1"),
        (["download", str(item), "-o", out, "--recipe", "nope"], "unknown recipe 'nope'"),
        (["download", str(item), "-o", out, "--requester-pays"], "add --recipe NAME"),
        (
            ["download", str(item), "-o", out, "--recipe", "http", "--region", "x"],
            "--region does not apply to --recipe http",
        ),
        (["download", str(item), "-o", out, "--header", "no-colon"], "expected 'Name: value'"),
        (["download", str(tmp_path / "missing.json"), "-o", out], "no such file"),
        (["download", str(item), "-o", out, "--layout", "../{id}"], "could leave dest"),
        (["download", str(item), "-o", out, "-q", "--json"], "not allowed with argument"),
        (["frobnicate"], "invalid choice"),
        ([], "the following arguments are required: COMMAND"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        stderr = capsys.readouterr().err
        assert message in stderr, (args, stderr)
        assert "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_version_and_help_name_what_the_code_does(capsys: pytest.CaptureFixture[str]) -> None:
    version = run_obstac(["--version"])
    assert version.returncode == 0
    assert version.stdout.decode().startswith("obstac 0.1.0 (obstore 0.12.")
    assert main(["download", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in (
        "--include",
        "--exclude",
        "--role",
        "--recipe",
        "--requester-pays",
        "--s3-endpoint",
        "--header",
        "--anonymous",
        "--concurrency",
        "--overwrite",
        "--layout",
        "--on-error",
        "--keep-signed-hrefs",
        "--output-json",
        "--quiet",
        "--json",
    ):
        assert flag in text, flag
