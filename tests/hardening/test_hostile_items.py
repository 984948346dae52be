"""Hostile items: asset keys and href file names that try to leave the destination, names too
long for a file system, names that collide with each other or with obstac's own files, hrefs
that cannot be fetched, layouts and layout values that try to escape. Each is downloaded under a
safe name or refused by name, through the library and through ``obstac download``; a snapshot
of the folders around the destination proves nothing is written outside it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import pytest

from obstac._items import DownloadInputError
from obstac.download import (
    MAX_NAME_BYTES,
    DownloadError,
    download_items,
    plan_download,
    safe_name,
)
from obstac.transfer import MANIFEST_NAME
from tests.hardening._hostile import (
    Cli,
    Origin,
    Sandbox,
    cli_fixture,  # noqa: F401 - the cli fixture
    feature,
    origin_fixture,  # noqa: F401 - the origin fixture
    sandbox_fixture,  # noqa: F401 - the sandbox fixture
)

Via = Literal["api", "cli"]
VIA: list[Via] = ["api", "cli"]


def download(
    via: Via, cli: Cli, items: list[dict[str, Any]], dest: Path, layout: str | None = None
) -> tuple[int, str]:
    """Download ``items`` with the library or the command; the exit code (0 done, 1 an asset
    failed, 2 refused input) and the error message (for the command: the message of its error
    event, else its ``--json`` stderr)."""
    if via == "cli":
        args = ["download", "-o", str(dest), "--json"]
        if layout is not None:
            args += ["--layout", layout]
        run = cli.run(args, "".join(json.dumps(item) + "\n" for item in items).encode())
        last = json.loads(run.err.strip().splitlines()[-1])
        return run.code, last["message"] if last["event"] == "error" else run.err
    try:
        if layout is None:
            download_items(items, dest, concurrency=4)
        else:
            download_items(items, dest, concurrency=4, layout=layout)
    except DownloadError as error:
        return 1, str(error)
    except DownloadInputError as error:
        return 2, str(error)
    return 0, ""


def files(tree: dict[str, str], folder: str) -> dict[str, str]:
    """The files directly in ``folder`` (relative to dest), by name, without the manifest."""
    prefix = f"{folder}/"
    return {
        path.removeprefix(prefix): digest
        for path, digest in tree.items()
        if path.startswith(prefix) and "/" not in path.removeprefix(prefix) and digest != "dir"
        if not path.endswith(MANIFEST_NAME)
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- asset keys and file names ---------------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_hostile_keys_and_names_get_safe_unique_names_inside_dest(
    via: Via, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    """Five assets whose hrefs all end in B04.tif, under hostile keys: each is written as
    ``<safe key>-B04.tif``; encoded separators and '..' in names are neutralised; 300-byte
    names are cut to 200 bytes keeping the extension, distinct, and the same on a rerun."""
    absolute_key = str(sandbox.outside / "passwd")
    long_a, long_b = "N" * 300 + "a.tif", "N" * 300 + "b.tif"
    assets = {
        "../../x": {"href": origin.put("1/B04.tif", b"1")},
        absolute_key: {"href": origin.put("2/B04.tif", b"2")},
        "a\\..\\b": {"href": origin.put("3/B04.tif", b"3")},
        "k\x00nul": {"href": origin.put("4/B04.tif", b"4")},
        "K" * 300: {"href": origin.put("5/B04.tif", b"5")},
        "encoded-slash": {"href": origin.put("dir/slash.tif", b"6").replace("/slash", "%2Fslash")},
        "backslash": {"href": origin.put("a\\..\\..\\win.tif", b"7").replace("\\", "%5C")},
        "long-a": {"href": origin.put(long_a, b"8")},
        "long-b": {"href": origin.put(long_b, b"9")},
        "userinfo": {"href": origin.put("ui.tif", b"10").replace("://", "://user:pw@")},
    }  # fmt: skip
    item = feature("hostile-names", assets)
    code, message = download(via, cli, [item], sandbox.dest)
    assert code == 0, message
    tree = sandbox.assert_contained()
    written = files(tree, "coll/hostile-names")
    expected = {
        ".._.._x-B04.tif": b"1",
        safe_name(f"{absolute_key}-B04.tif"): b"2",
        "a_.._b-B04.tif": b"3",
        "k_nul-B04.tif": b"4",
        safe_name("K" * 300 + "-B04.tif"): b"5",
        "slash.tif": b"6",
        "a_.._.._win.tif": b"7",
        safe_name(long_a): b"8",
        safe_name(long_b): b"9",
        "ui.tif": b"10",
    }
    assert safe_name(f"{absolute_key}-B04.tif").startswith("_")  # no leading '/'
    assert written.pop("hostile-names.json") != ""
    assert written == {name: sha(data) for name, data in expected.items()}
    for name in (safe_name(long_a), safe_name(long_b), safe_name("K" * 300 + "-B04.tif")):
        assert len(name.encode()) <= MAX_NAME_BYTES
    assert safe_name(long_a).endswith(".tif")
    assert safe_name(long_a) != safe_name(long_b)

    # A rerun finds every file under the same name: nothing fetched, nothing new.
    gets = origin.gets
    code, message = download(via, cli, [item], sandbox.dest)
    assert code == 0, message
    assert origin.gets == gets
    assert sandbox.assert_contained() == tree


@pytest.mark.parametrize("via", VIA)
def test_names_obstac_keeps_for_itself_are_renamed(
    via: Via, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    """Before: an asset named .obstac-manifest.jsonl replaced the folder's manifest (and the
    manifest lines were appended to the asset), and one named like another asset's partial
    download or resume state shared its file."""
    assets = {
        "data": {"href": origin.put("data.tif", b"data")},
        "manifest": {"href": origin.put(MANIFEST_NAME, b"not a manifest")},
        "partial": {"href": origin.put(".data.tif.obstac-partial", b"not a partial")},
        "state": {"href": origin.put(".data.tif.obstac-partial.json", b"not a state")},
    }
    item = feature(".data.tif.obstac-partial", assets)  # its JSON: the resume state's name
    code, message = download(via, cli, [item], sandbox.dest)
    assert code == 0, message
    tree = sandbox.assert_contained()
    folder = "coll/.data.tif.obstac-partial"  # a folder: no file of the engine is named so
    assert set(files(tree, folder)) == {
        "data.tif",
        "_obstac-manifest.jsonl",
        "_data.tif.obstac-partial",
        "_data.tif.obstac-partial.json",
        "state-_data.tif.obstac-partial.json",  # also clashes with the item's JSON
    }
    assert (sandbox.dest / folder / "_obstac-manifest.jsonl").read_bytes() == b"not a manifest"
    assert (sandbox.dest / folder / "state-_data.tif.obstac-partial.json").read_bytes() == (
        b"not a state"
    )
    item_json = json.loads((sandbox.dest / folder / "_data.tif.obstac-partial.json").read_text())
    assert item_json["id"] == ".data.tif.obstac-partial"
    lines = (sandbox.dest / folder / MANIFEST_NAME).read_text().splitlines()
    recorded = {json.loads(line)["name"] for line in lines}  # every line is obstac's
    assert recorded == set(files(tree, folder)) - {"_data.tif.obstac-partial.json"}


# -- local files named by remote items -------------------------------------------------------


@pytest.mark.parametrize("via", VIA)
def test_a_remote_item_cannot_copy_local_files_into_dest(
    via: Via, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    """Before: an item served by a web catalog with an asset at ``/etc/passwd`` or
    ``file:///home/me/.ssh/id_rsa`` had that file copied into dest (and into a mirror)."""
    secret = sandbox.add_input("secret.txt", b"a file of this machine\n")
    item = feature(
        "remote",
        {
            "path": {"href": str(secret)},
            "file-url": {"href": secret.as_uri()},
            "web": {"href": origin.put("web.tif", b"web")},
        },
        links=[{"rel": "self", "href": origin.url("catalog/remote.json")}],
    )
    code, message = download(via, cli, [item], sandbox.dest)
    assert code == 1
    if via == "api":
        plan = {p.asset_key: p.action for p in plan_download([item], sandbox.dest)}
        assert plan == {"path": "error", "file-url": "error", "web": "skip?"}
        assert message.count("points at a local file, and the item comes from") == 2
        assert "- remote/path " in message
        assert "- remote/file-url " in message
    else:
        failures = json.loads(message.strip().splitlines()[-1])["failures"]
        assert sorted(f["asset"] for f in failures) == ["file-url", "path"]
    tree = sandbox.assert_contained()
    assert set(files(tree, "coll/remote")) == {"web.tif", "remote.json"}
    assert all(sha(secret.read_bytes()) != digest for digest in tree.values())
    written = json.loads((sandbox.dest / "coll/remote/remote.json").read_text())
    assert written["assets"]["path"]["href"] == str(secret)  # kept, not downloaded


def test_a_local_item_may_name_local_files(sandbox: Sandbox) -> None:
    """The rule is about remote items: a local catalog's local assets download as before."""
    data = sandbox.add_input("data.tif", b"local data")
    source = sandbox.add_input(
        "item.json", json.dumps(feature("local", {"d": {"href": "data.tif"}})).encode()
    )
    download_items(source, sandbox.dest)
    assert files(sandbox.assert_contained(), "coll/local")["data.tif"] == sha(data.read_bytes())


# -- hrefs that cannot be fetched, items with nothing to fetch -------------------------------


@pytest.mark.parametrize("via", VIA)
def test_hrefs_that_cannot_be_fetched_fail_by_name_and_leave_nothing(
    via: Via, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    item = feature(
        "unfetchable",
        {
            "nul": {"href": origin.url("a%00b.tif")},
            "dots": {"href": origin.url("..%2F..%2Fup.tif")},
            "root": {"href": origin.url("%2Fetc%2Fpasswd")},
            "folder": {"href": origin.url("folder/")},
            "no-path": {"href": origin.server.url},
            "empty": {"href": ""},
            "ok": {"href": origin.put("ok.tif", b"ok")},
        },
    )
    code, message = download(via, cli, [item], sandbox.dest)
    assert code == 1
    failed = {"nul", "dots", "root", "folder", "no-path", "empty"}
    if via == "api":
        assert {line.split()[1] for line in message.splitlines()[1:]} == {
            f"unfetchable/{key}" for key in failed
        }
    else:
        summary = json.loads(message.strip().splitlines()[-1])
        assert {f["asset"] for f in summary["failures"]} == failed
    tree = sandbox.assert_contained()
    assert set(files(tree, "coll/unfetchable")) == {"ok.tif", "unfetchable.json"}


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("assets", [{}, None], ids=["empty-assets", "no-assets-key"])
def test_an_item_with_no_assets_writes_only_its_json(
    via: Via, assets: dict[str, Any] | None, sandbox: Sandbox, cli: Cli
) -> None:
    item = feature("bare", assets or {})
    if assets is None:
        del item["assets"]
    code, message = download(via, cli, [item], sandbox.dest)
    assert code == 0, message
    assert set(sandbox.assert_contained()) == {"coll", "coll/bare", "coll/bare/bare.json"}


# -- layouts and the values that fill them ---------------------------------------------------


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(
    "layout", ["../{id}", "{outside}/{id}", "{id}/../../..", "{id}\\..\\..", "{id}/\x00"]
)
def test_layouts_that_escape_are_refused_before_anything_is_written(
    via: Via, layout: str, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    layout = layout.replace("{outside}", str(sandbox.outside))
    item = feature("a", {"x": {"href": origin.put("never.bin", b"never")}})
    code, message = download(via, cli, [item], sandbox.dest, layout=layout)
    assert code == 2
    assert f"layout {layout!r}" in message
    assert origin.requests == 0
    assert sandbox.assert_contained() == {}


@pytest.mark.parametrize("via", VIA)
def test_an_unknown_layout_field_fails_the_item_by_name(
    via: Via, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    item = feature("a", {"x": {"href": origin.put("never.bin", b"never")}})
    code, message = download(via, cli, [item], sandbox.dest, layout="{nope}/{id}")
    assert code == 1
    assert "item 'a' has no 'nope' for layout '{nope}/{id}'" in message
    assert origin.requests == 0
    assert sandbox.assert_contained() == {}


@pytest.mark.parametrize("via", VIA)
def test_hostile_collection_and_id_values_stay_one_folder_each(
    via: Via, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    """The default layout {collection}/{id} with values holding '..', '/', an absolute path
    into ``outside``, NUL and 300 bytes: each value is one safe, bounded folder name."""
    href = origin.put("x.bin", b"x")
    values = [
        ("../..", "../../up"),
        (str(sandbox.outside), str(sandbox.outside / "abs")),
        ("a/b", "c\x00d"),
        ("c" * 300, "i" * 300),
    ]
    items = [feature(i, {"x": {"href": href}}, collection=c) for c, i in values]
    code, message = download(via, cli, items, sandbox.dest)
    assert code == 0, message
    tree = sandbox.assert_contained()
    for collection, item_id in values:
        folder = f"{safe_name(collection)}/{safe_name(item_id)}"
        assert set(files(tree, folder)) == {"x.bin", safe_name(f"{item_id}.json")}
        assert all(len(part.encode()) <= MAX_NAME_BYTES for part in folder.split("/"))
