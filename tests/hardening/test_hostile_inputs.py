"""Hostile or broken inputs: items whose fields have the wrong JSON type, non-STAC and truncated
JSON, a huge ``properties`` blob. Each is refused with a message naming the item (or the line)
and the field, through the library and through ``obstac download`` (exit 2), or downloaded;
nothing is ever written outside the destination."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from obstac._items import DownloadInputError
from obstac.download import download_items
from tests.hardening._hostile import (
    Cli,
    Origin,
    Sandbox,
    cli_fixture,  # noqa: F401 - the cli fixture
    feature,
    origin_fixture,  # noqa: F401 - the origin fixture
    sandbox_fixture,  # noqa: F401 - the sandbox fixture
    snapshot,
)

ITEM_ONE = {
    "coll", "coll/one", "coll/one/one.bin", "coll/one/one.json", "coll/one/.obstac-manifest.jsonl"
}  # fmt: skip
"""What dest holds once item "one" (asset ``data`` at ``one.bin``) is downloaded."""

# -- items whose fields have the wrong shape -------------------------------------------------

BROKEN_ITEMS: dict[str, tuple[dict[str, Any], str]] = {
    "asset-without-href": (
        feature("no-href", {"data": {"title": "no href"}}),
        "item 'no-href' is not a valid STAC Item: asset 'data' has no 'href'",
    ),
    "asset-null-href": (
        feature("null-href", {"data": {"href": None}}),
        "item 'null-href' is not a valid STAC Item: asset 'data' has no 'href'",
    ),
    "asset-number-href": (
        feature("number-href", {"data": {"href": 42}}),
        "item 'number-href' is not a valid STAC Item: asset 'data' has a number 'href'",
    ),
    "asset-not-an-object": (
        feature("string-asset", {"data": "https://example.com/a.tif"}),
        "asset 'data' must be a JSON object, not string",
    ),
    "assets-an-array": (
        feature("array-assets", [{"href": "https://example.com/a.tif"}]),
        "item 'array-assets' is not a valid STAC Item: 'assets' must be a JSON object",
    ),
    "properties-null": (
        feature("null-properties", {}, properties=None),
        "item 'null-properties' is not a valid STAC Item: 'properties' must be a JSON object",
    ),
    "collection-a-number": (
        feature("number-collection", {}, collection=7),
        "'collection' must be a string, not number",
    ),
    "links-of-strings": (
        feature("string-links", {}, links=["https://example.com"]),
        "each of 'links' must be a JSON object, not string",
    ),
}


@pytest.mark.parametrize("case", BROKEN_ITEMS)
def test_an_item_of_the_wrong_shape_is_refused_by_name(
    case: str, sandbox: Sandbox, origin: Origin
) -> None:
    """Before: AttributeError/TypeError from deep inside pystac or the layout, exit 1, and a
    message naming neither the item nor the field."""
    document, message = BROKEN_ITEMS[case]
    good = feature("one", {"data": {"href": origin.put("one.bin", b"one")}})
    with pytest.raises(DownloadInputError, match="fix or leave out this item") as raised:
        download_items([good, document], sandbox.dest, concurrency=1)
    assert message in str(raised.value)
    # The item before it was downloaded; nothing of the broken one was.
    assert set(sandbox.assert_contained()) == ITEM_ONE


@pytest.mark.parametrize("case", BROKEN_ITEMS)
def test_the_cli_exits_2_naming_the_item_and_the_field(
    case: str, sandbox: Sandbox, cli: Cli
) -> None:
    document, message = BROKEN_ITEMS[case]
    run = cli.run(["download", "-o", str(sandbox.dest)], json.dumps(document).encode())
    assert run.code == 2
    assert message in run.err
    assert run.out == ""
    assert sandbox.assert_contained() == {}


# -- documents that are not (all) STAC -------------------------------------------------------


def _lines(*documents: Any) -> bytes:
    return "".join(json.dumps(d) + "\n" for d in documents).encode()


# name -> (file name, content from two good items, message for a file, message for stdin)
NOT_STAC: dict[str, tuple[str, Any, str, str]] = {
    "object-not-stac": (
        "items.json",
        lambda one, two: b'{"a": 1}',
        "got a dict with type None",
        "stdin, line 1: expected a STAC Item",
    ),
    "list-of-numbers": (
        "items.json",
        lambda one, two: b"[1, 2, 3]\n",
        "holds a JSON list, not STAC",
        "stdin, line 1: a JSON list is not a STAC Item",
    ),
    "truncated-json": (
        "items.json",
        lambda one, two: json.dumps({"type": "FeatureCollection", "features": [one]})[:-9].encode(),
        "is not JSON: Expecting",
        "stdin is not JSON nor NDJSON",
    ),
    "truncated-ndjson-line": (
        "items.ndjson",
        lambda one, two: _lines(one) + json.dumps(two)[:40].encode(),
        "items.ndjson, line 2: not JSON",
        "stdin, line 2: not JSON",
    ),
    "non-item-ndjson-line": (
        "items.ndjson",
        lambda one, two: _lines(one, {"type": "Feature", "id": "x"}, two),
        "items.ndjson, line 2: item 'x' is not a valid STAC Item: 'properties'",
        "stdin, line 2: item 'x' is not a valid STAC Item: 'properties'",
    ),
    "collection-with-a-non-item": (
        "items.json",
        lambda one, two: json.dumps({"type": "FeatureCollection", "features": [one, {"a": 1}]}),
        "features[1] of the FeatureCollection: expected a STAC Item",
        "stdin, line 1: features[1] of the FeatureCollection: expected a STAC Item",
    ),
}


def _not_stac(case: str, origin: Origin) -> tuple[str, bytes]:
    name, build, _, _ = NOT_STAC[case]
    one = feature("one", {"data": {"href": origin.put("one.bin", b"one")}})
    two = feature("two", {"data": {"href": origin.put("two.bin", b"two")}})
    content = build(one, two)
    return name, content.encode() if isinstance(content, str) else content


def _only_items_before_the_bad_one(written: dict[str, str]) -> None:
    """What a run may leave: nothing, or the items before the bad one, never a later one."""
    assert set(written) <= ITEM_ONE


@pytest.mark.parametrize("case", NOT_STAC)
def test_a_file_that_is_not_stac_is_refused_naming_where(
    case: str, sandbox: Sandbox, origin: Origin
) -> None:
    name, content = _not_stac(case, origin)
    source = sandbox.add_input(name, content)
    with pytest.raises(DownloadInputError) as raised:
        download_items(source, sandbox.dest, concurrency=1)
    assert NOT_STAC[case][2] in str(raised.value)
    _only_items_before_the_bad_one(sandbox.assert_contained())


@pytest.mark.parametrize("source", ["stdin", "file"])
@pytest.mark.parametrize("case", NOT_STAC)
def test_the_cli_exits_2_on_input_that_is_not_stac(
    case: str, source: str, sandbox: Sandbox, origin: Origin, cli: Cli
) -> None:
    name, content = _not_stac(case, origin)
    args = ["download", "-o", str(sandbox.dest)]
    if source == "file":
        args.append(str(sandbox.add_input(name, content)))
    run = cli.run(args, content if source == "stdin" else b"")
    assert run.code == 2, run.err
    assert NOT_STAC[case][2 if source == "file" else 3] in run.err
    _only_items_before_the_bad_one(sandbox.assert_contained())


# -- a 100 MB properties blob ----------------------------------------------------------------

BLOB_BYTES = 100 * 1024 * 1024
PEAK_RSS_LIMIT = 800 * 1024 * 1024
"""A 100 MB item is held as text, as parsed JSON and as the JSON written: a few copies of the
blob over the ~100 MB of an idle process; 800 MB leaves room and still catches a per-value copy
of a parsed tree."""

MEASURED_MAIN = """
import resource, sys, time
from obstac.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"MEASURED {peak} {time.perf_counter() - started:.2f}", file=sys.stderr)
sys.exit(code)
"""


def test_a_100_mb_properties_blob_downloads_in_bounded_memory(
    sandbox: Sandbox, origin: Origin
) -> None:
    """``obstac download`` in its own process, on an item file whose properties hold a 100 MB
    string: the asset and the whole item JSON are written; peak memory and time are bounded."""
    head = feature("big", {"data": {"href": origin.put("big.bin", b"small asset")}})
    head["properties"]["blob"] = "BLOB"
    text = json.dumps(head).encode()
    before, _, after = text.partition(b'"BLOB"')
    source = sandbox.outside / "big.json"
    with source.open("wb") as file:
        file.write(before + b'"')
        file.write(b"x" * BLOB_BYTES)
        file.write(b'"' + after)
    sandbox.before = snapshot(sandbox.root)
    done = subprocess.run(
        [sys.executable, "-c", MEASURED_MAIN, "download", "-o", str(sandbox.dest), str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    peak, seconds = stderr.rsplit("MEASURED ", 1)[1].split()
    print(f"100 MB blob: peak RSS {int(peak) / 2**20:.0f} MiB, {seconds} s")
    assert int(peak) < PEAK_RSS_LIMIT
    written = sandbox.assert_contained()
    assert set(written) == {
        "coll", "coll/big", "coll/big/big.bin", "coll/big/big.json",
        "coll/big/.obstac-manifest.jsonl",
    }  # fmt: skip
    item = json.loads((sandbox.dest / "coll/big/big.json").read_bytes())
    assert len(item["properties"]["blob"]) == BLOB_BYTES
    assert item["assets"]["data"]["href"] == "./big.bin"
