"""Hostile or broken inputs: items whose fields have the wrong JSON type, non-STAC and truncated
JSON, a huge ``properties`` blob. Each is refused with a message naming the item (or the line)
and the field, through the library and through ``obstac download`` (exit 2), or downloaded;
nothing is ever written outside the destination."""

from __future__ import annotations

import json
from typing import Any

import pytest

from obstac._items import DownloadInputError
from obstac.download import download_items
from tests.hardening._hostile import (
    Origin,
    Sandbox,
    feature,
    origin_fixture,  # noqa: F401 - the origin fixture
    run_cli,
    sandbox_fixture,  # noqa: F401 - the sandbox fixture
)

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
    good = feature("good", {"data": {"href": origin.put("good.bin", b"good")}})
    with pytest.raises(DownloadInputError, match="fix or leave out this item") as raised:
        download_items([good, document], sandbox.dest, concurrency=1)
    assert message in str(raised.value)
    # The item before it was downloaded; nothing of the broken one was.
    assert set(sandbox.assert_contained()) == {
        "coll", "coll/good", "coll/good/good.bin", "coll/good/good.json",
        "coll/good/.obstac-manifest.jsonl",
    }  # fmt: skip


@pytest.mark.parametrize("case", BROKEN_ITEMS)
def test_the_cli_exits_2_naming_the_item_and_the_field(
    case: str,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document, message = BROKEN_ITEMS[case]
    run = run_cli(
        ["download", "-o", str(sandbox.dest)],
        json.dumps(document).encode(),
        monkeypatch,
        capsys,
    )
    assert run.code == 2
    assert message in run.err
    assert run.out == ""
    assert sandbox.assert_contained() == {}
