"""plan_download says what download_items would do; the progress sinks render events."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import obstac
from obstac.progress import ProgressLines
from obstac.testing import RangeHTTPServer
from obstac.transfer import TransferEvent


def _item(origin: RangeHTTPServer, data: bytes) -> dict[str, Any]:
    origin.put("plan/scene/B04.tif", data)
    origin.put("plan/scene/thumb.png", b"png")
    checksum = "1220" + hashlib.sha256(data).hexdigest()
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "scene",
        "collection": "plans",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {
            "B04": {
                "href": f"{origin.url}/plan/scene/B04.tif",
                "roles": ["data"],
                "file:size": len(data),
                "file:checksum": checksum,
            },
            "thumbnail": {"href": f"{origin.url}/plan/scene/thumb.png", "roles": ["thumbnail"]},
        },
    }


def test_plan_matches_what_download_then_does(http_origin: RangeHTTPServer, tmp_path: Path) -> None:
    item = _item(http_origin, b"band four bytes" * 100)
    http_origin.clear_requests()
    before = {p.asset_key: p for p in obstac.plan_download([item], tmp_path)}
    assert {key: p.action for key, p in before.items()} == {
        "B04": "download",
        "thumbnail": "download",
    }
    assert str(before["B04"].target).endswith("plans/scene/B04.tif")
    assert http_origin.count() == 0  # planning sends no request
    only_data = obstac.plan_download([item], tmp_path, roles=["data"])
    assert [p.asset_key for p in only_data] == ["B04"]

    obstac.download_items([item], tmp_path, roles=["data"])
    after = {p.asset_key: p for p in obstac.plan_download([item], tmp_path)}
    assert after["B04"].action == "skip"  # size and file:checksum prove it
    assert after["thumbnail"].action == "download"


def test_progress_lines_report_done_and_failures() -> None:
    stream = io.StringIO()
    sink = ProgressLines(stream)
    where = ("scene/B04", "https://h/x.tif", "/d/x.tif")
    sink(TransferEvent("done", *where, bytes=2048, total=2048))
    sink(TransferEvent("fail", *where, message="AssetNotFoundError: no object"))
    text = stream.getvalue()
    assert "scene/B04" in text
    assert "AssetNotFoundError" in text
    assert len(text.strip().splitlines()) >= 2


def test_roles_spelled_oddly_by_an_item_are_matched_whole(
    http_origin: RangeHTTPServer, tmp_path: Path
) -> None:
    # Items in the wild write `"roles": "data"`; it is one role, not the letters d, a, t.
    item = _item(http_origin, b"band four bytes")
    item["assets"]["B04"]["roles"] = "data"
    item["assets"]["thumbnail"]["roles"] = [{"not": "a role"}, "thumbnail"]
    chosen = obstac.plan_download([item], tmp_path, roles=["data"])
    assert [p.asset_key for p in chosen] == ["B04"]
    assert obstac.plan_download([item], tmp_path, roles=["d", "a"]) == []
    thumbs = obstac.plan_download([item], tmp_path, roles=["thumbnail"])
    assert [p.asset_key for p in thumbs] == ["thumbnail"]
