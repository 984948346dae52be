"""Each fault of the chaos origin on its own: what obstac does, counted in requests.

Every test runs through obstore's HTTPStore and through an unsigned S3Store on the same
origin. A fault is scripted twice in a row, so it survives obstore's own retry (one, here)
and reaches the engine. The outcome is always a byte-identical file or a reported failure
with nothing under the final name.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from obstac.errors import RemoteError
from obstac.testing import ChaosOrigin, Fault
from obstac.transfer import TransferOptions, transfer
from tests.hardening._chaos import BUCKET, CLIENTS, OPTIONS, PART, Client, chaos_job, names, payload

STALL = 3.0
"""Seconds a stall lasts: far beyond the 0.2 s read timeout, so only abandoning the connection
lets a test finish quickly."""


@pytest.fixture
def origin() -> Iterator[ChaosOrigin]:
    with ChaosOrigin(seed=3, stall_seconds=STALL) as server:
        yield server


# (origin GETs, engine requests, engine retries) for a small object meeting the fault twice.
# Status faults, stalls and cut bodies: the first request and obstore's retry (or its ranged
# continuation of the body) fail; one engine retry succeeds. An HTML page sent with 200 to the
# first (ranged) request reads as "range not supported", so the engine asks without a range,
# meets the page again, refuses it by its Content-Type, and retries once. A ranged GET answered
# with the whole object is taken as a server without ranges: one plain GET, no retry.
SMALL = {
    Fault.STATUS_500: (3, 2, 1),
    Fault.STATUS_503: (3, 2, 1),
    Fault.STATUS_503_RETRY_AFTER: (3, 2, 1),
    Fault.STATUS_429: (3, 2, 1),
    Fault.STATUS_429_RETRY_AFTER: (3, 2, 1),
    Fault.RESET: (3, 2, 1),
    Fault.SHORT_BODY: (3, 2, 1),
    Fault.STALL_HEADERS: (3, 2, 1),
    Fault.STALL_BODY: (3, 2, 1),
    Fault.HTML_200: (3, 3, 1),
    Fault.IGNORE_RANGE: (2, 2, 0),
}


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("fault", list(SMALL), ids=lambda fault: fault.name.lower())
def test_each_fault_is_survived(
    origin: ChaosOrigin, tmp_path: Path, fault: Fault, client: Client
) -> None:
    data = payload(5000, (fault, client))
    key = f"{fault.name}-{client}.bin"
    origin.put(f"{BUCKET}/{key}", data)
    origin.script(f"{BUCKET}/{key}", fault, fault)
    started = time.monotonic()
    [result] = transfer([chaos_job(origin, key, tmp_path / key, client)], options=OPTIONS)
    assert result.status == "downloaded", result.error
    assert (tmp_path / key).read_bytes() == data
    gets, requests, retries = SMALL[fault]
    assert (origin.count("GET"), result.requests, result.retries) == (gets, requests, retries)
    assert origin.injected[fault] == (1 if fault is Fault.IGNORE_RANGE else 2)
    assert time.monotonic() - started < STALL  # stalled connections were abandoned, not waited
    assert names(tmp_path) == [".obstac-manifest.jsonl", key]


PART_FAULTS = [
    Fault.STATUS_503,
    Fault.STATUS_429_RETRY_AFTER,
    Fault.RESET,
    Fault.STALL_BODY,
    Fault.IGNORE_RANGE,
    Fault.HTML_200,
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("fault", PART_FAULTS, ids=lambda fault: fault.name.lower())
def test_each_fault_on_a_part_is_survived(
    origin: ChaosOrigin, tmp_path: Path, fault: Fault, client: Client
) -> None:
    data = payload(6 * PART + 123, (fault, client, "parts"))
    key = f"parts-{fault.name}-{client}.bin"
    origin.put(f"{BUCKET}/{key}", data)
    origin.script(f"{BUCKET}/{key}", None, fault, fault)  # spare the first request: hit parts
    [result] = transfer([chaos_job(origin, key, tmp_path / key, client)], options=OPTIONS)
    assert result.status == "downloaded", result.error
    assert (tmp_path / key).read_bytes() == data
    assert origin.injected[fault] == 2
    # 7 parts; each fault costs at most one more request (obstore's retry or continuation, or
    # an engine retry); the engine retried at most once per fault.
    assert 7 <= origin.count("GET") <= 7 + 2
    assert result.retries <= 2
    assert result.requests == 7 + result.retries


@pytest.mark.parametrize("client", CLIENTS)
def test_object_changed_between_parts_restarts_once(
    origin: ChaosOrigin, tmp_path: Path, client: Client
) -> None:
    key = f"changing-{client}.bin"
    path = f"{BUCKET}/{key}"
    origin.put(path, payload(6 * PART, ("v1", client)))
    old_etag = origin.object_at(path).etag  # type: ignore[union-attr]
    origin.script(path, Fault.CHANGE)
    [result] = transfer([chaos_job(origin, key, tmp_path / key, client)], options=OPTIONS)
    new = origin.object_at(path)
    assert new is not None
    assert origin.versions(path) == 1
    assert result.status == "downloaded", result.error
    assert (tmp_path / key).read_bytes() == new.data  # the new version, whole
    assert result.etag == new.etag != old_etag
    gets = [r for r in origin.requests if r.method == "GET"]
    # Parts sent after the change carried If-Match with the old ETag; the restart began with a
    # first GET that carried none, and asked for every other part with the new ETag. Parts of
    # the first attempt still in flight may reach the origin after the restart's first GET
    # (the order of arrival is a race): they carry the old ETag, never none.
    assert any(r.headers.get("if-match") == old_etag for r in gets)
    restart = max(i for i, r in enumerate(gets) if r.range == f"bytes=0-{PART - 1}")
    assert restart > 0
    assert "if-match" not in gets[restart].headers
    later = gets[restart + 1 :]
    assert {r.headers.get("if-match") for r in later} <= {old_etag, new.etag}
    other_parts = {f"bytes={i * PART}-{(i + 1) * PART - 1}" for i in range(1, 6)}
    assert {r.range for r in later if r.headers.get("if-match") == new.etag} == other_parts


@pytest.mark.parametrize("client", CLIENTS)
def test_object_changing_twice_fails_and_keeps_nothing(
    origin: ChaosOrigin, tmp_path: Path, client: Client
) -> None:
    key = f"unstable-{client}.bin"
    path = f"{BUCKET}/{key}"
    origin.put(path, payload(6 * PART, ("unstable", client)))
    origin.storm = Fault.CHANGE  # every part request finds a new version
    [result] = transfer([chaos_job(origin, key, tmp_path / key, client)], options=OPTIONS)
    assert result.status == "failed"
    assert "changed twice" in str(result.error)
    assert origin.versions(path) >= 2
    # Two downloads began (the first and its one restart): two GETs of the first range.
    assert sum(r.range == f"bytes=0-{PART - 1}" for r in origin.requests) == 2
    assert names(tmp_path) == []


@pytest.mark.parametrize("client", CLIENTS)
def test_html_page_is_never_kept_as_the_data(
    origin: ChaosOrigin, tmp_path: Path, client: Client
) -> None:
    key = f"portal-{client}.tif"
    path = f"{BUCKET}/{key}"
    origin.put(path, payload(3000, ("portal", client)))
    origin.storm = Fault.HTML_200  # every GET answers 200 with an error page
    options = TransferOptions(retry_backoff=0.01, max_attempts=3)
    [result] = transfer([chaos_job(origin, key, tmp_path / key, client)], options=options)
    assert result.status == "failed"
    assert isinstance(result.error, RemoteError)
    assert "web page instead of the data, 3 times" in str(result.error)
    assert "text/html" in str(result.error)
    # max_attempts bounds it: the first (ranged) GET reads as a server without ranges, the
    # next two ask without a range and are refused by their Content-Type.
    assert origin.count("GET") == 3
    assert names(tmp_path) == []


def test_an_asset_that_is_a_web_page_is_downloaded(origin: ChaosOrigin, tmp_path: Path) -> None:
    origin.put(f"{BUCKET}/about", b"unused")
    origin.storm = Fault.HTML_200
    job = chaos_job(origin, "about", tmp_path / "about.html", "http", media_type="text/html")
    [result] = transfer([job], options=OPTIONS)
    assert result.status == "downloaded", result.error
    assert (tmp_path / "about.html").read_bytes().startswith(b"<!DOCTYPE html>")
