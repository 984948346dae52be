"""The data passed between the harness, its worker subprocesses and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

KIB = 1024
"""One kibibyte."""

MIB = 1024 * 1024
"""One mebibyte."""

Mode = Literal["smoke", "quick", "full"]
"""Workload sizes: tiny for the smoke test, ``make bench``, ``--full``."""

Kind = Literal["download", "ranges", "cog", "items", "mirror"]
"""``download``: whole objects to files; ``ranges``: byte ranges to memory; ``cog``: windows of
tiled GeoTIFFs, as tile byte ranges or decoded pixels (:mod:`benchmarks.cog`); ``items``: a STAC
item collection's assets to files; ``mirror``: the same assets into an S3 store
(:mod:`benchmarks.collection`, :mod:`benchmarks.mirror`)."""

RANGE_KINDS = frozenset({"ranges", "cog"})
"""Kinds whose payload is :attr:`Scenario.ranges` (for ``cog``: the tiles its windows touch)."""

Provider = Literal["http", "s3", "azure", "gcs"]
"""How a peer addresses the origin: plain HTTP hrefs, or a cloud store's API (moto, Azurite,
the GCS double; :mod:`benchmarks.providers`)."""


@dataclass(frozen=True)
class ObjectSpec:
    """One object at the origin.

    Attributes:
        key: Its path under the bucket, e.g. ``"small/f0001.bin"``.
        size: Its size in bytes.
    """

    key: str
    size: int


@dataclass(frozen=True)
class RangeSpec:
    """One byte range to read: ``[start, end)`` of ``key``."""

    key: str
    start: int
    end: int


@dataclass(frozen=True)
class WindowSpec:
    """One pixel window of a GeoTIFF to read (``cog`` scenarios).

    Attributes:
        key: The file it is read from.
        col_off: Its first column.
        row_off: Its first row.
        width: Columns.
        height: Rows.
        crc32: ``zlib.crc32`` of the window's pixels (band 1, C order, native bytes).
    """

    key: str
    col_off: int
    row_off: int
    width: int
    height: int
    crc32: int


@dataclass(frozen=True)
class AssetSpec:
    """One asset of a STAC item (``items`` and ``mirror`` scenarios).

    Attributes:
        name: The asset's key in the item, e.g. ``"red"``.
        key: The object at the origin it points to (one of the scenario's objects).
        size: Its size in bytes (the item's ``file:size``).
        checksum: Its sha2-256 multihash, hex (the item's ``file:checksum``).
    """

    name: str
    key: str
    size: int
    checksum: str


@dataclass(frozen=True)
class ItemSpec:
    """One STAC item whose assets are objects at the origin.

    Attributes:
        id: The item id.
        collection: Its collection id.
        datetime: Its ``datetime`` property (ISO 8601).
        assets: Its assets, in item order.
    """

    id: str
    collection: str
    datetime: str
    assets: tuple[AssetSpec, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemSpec:
        """The item :func:`dataclasses.asdict` wrote."""
        assets = tuple(AssetSpec(**a) for a in data["assets"])
        return cls(data["id"], data["collection"], data["datetime"], assets)


@dataclass(frozen=True)
class Scenario:
    """One workload.

    Attributes:
        name: Short id, e.g. ``"small"``.
        title: What it models, for the table.
        kind: ``"download"`` (whole objects to local files), ``"ranges"`` (bytes to memory) or
            another :data:`Kind`.
        objects: The objects at the origin.
        ranges: The ranges to read (``kind == "ranges"`` only).
        provider: Scenario 6: the provider origin that serves it (None: the run's origin).
        concurrency: Scenario 7: requests in flight for obstac and raw obstore (None: their
            defaults).
        items: The STAC items whose assets the objects are (``items``, ``mirror`` only).
        windows: The pixel windows to read (``cog`` only); ``ranges`` are then the byte ranges
            of the tiles they touch, each tile once, grouped by file in file order.
    """

    name: str
    title: str
    kind: Kind
    objects: tuple[ObjectSpec, ...]
    ranges: tuple[RangeSpec, ...] = ()
    provider: Provider | None = None
    concurrency: int | None = None
    items: tuple[ItemSpec, ...] = ()
    windows: tuple[WindowSpec, ...] = ()

    @property
    def payload_bytes(self) -> int:
        """Bytes the workload asks for: all objects, or the sum of the range lengths."""
        if self.kind in RANGE_KINDS:
            return sum(r.end - r.start for r in self.ranges)
        return sum(o.size for o in self.objects)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the worker reads it back with :meth:`from_json`)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scenario:
        """The scenario :meth:`to_json` wrote."""
        return cls(
            name=data["name"],
            title=data["title"],
            kind=data["kind"],
            objects=tuple(ObjectSpec(**o) for o in data["objects"]),
            ranges=tuple(RangeSpec(**r) for r in data["ranges"]),
            provider=data.get("provider"),
            concurrency=data.get("concurrency"),
            items=tuple(ItemSpec.from_json(i) for i in data.get("items", ())),
            windows=tuple(WindowSpec(**w) for w in data.get("windows", ())),
        )


@dataclass(frozen=True)
class Origin:
    """Where a peer fetches from: one HTTP server, also usable as a path-style S3 endpoint.

    Attributes:
        url: Base URL the peer connects to (the front of the proxy chain), no trailing slash.
        bucket: The first path segment; HTTP hrefs are ``{url}/{bucket}/{key}``.
        server: What serves the bytes (``"nginx"``, ``"RangeHTTPServer"``), for the report.
        s3: Whether the server answers S3 GetObject/HeadObject in path style (nginx does for
            unsigned-or-ignored-signature GETs; S3 peers are skipped otherwise).
        provider: The API peers speak to it: ``"http"`` (nginx, and nginx as an unsigned S3
            stand-in), ``"s3"`` (moto, signed), ``"azure"`` (Azurite), ``"gcs"`` (GCS double).
        mirror_to: ``mirror`` scenarios: the S3 bucket to copy into, as
            ``http://127.0.0.1:PORT/BUCKET`` (moto, reached directly, not through the link).
    """

    url: str
    bucket: str
    server: str
    s3: bool
    provider: Provider = "http"
    mirror_to: str | None = None

    def href(self, key: str) -> str:
        """The HTTP href of an object."""
        return f"{self.url}/{self.bucket}/{key}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Origin:
        """The origin :meth:`to_json` wrote."""
        return cls(**data)


@dataclass(frozen=True)
class Measurement:
    """One peer on one scenario. Peers fill the first fields; the harness the rest.

    Attributes:
        peer: The peer's name.
        scenario: The scenario's name.
        seconds: Wall time of the transfer itself (imports and interpreter start excluded).
        bytes: Payload bytes delivered (files on disk, or range bytes in memory), checked.
        note: How the peer was driven (concurrency, part size...).
        profile: The link profile (``"wan"``, ``"lan"``).
        requests: HTTP requests counted at the proxy (None: not counted).
        wire_bytes: Bytes the proxy carried from the origin to the peer (headers included):
            above ``bytes`` when a peer fetches more than it asked for (coalesced ranges).
        peak_rss_mib: Peak resident memory of the worker process and its children, MiB.
        cpu_seconds: User + system CPU of the worker and its children during the transfer
            (the peer's imports excluded, like the wall time).
        import_cpu_seconds: CPU the worker spent importing the peer's ``IMPORTS`` first.
        ratio: This peer's time / obstac's time in the same run (> 1: obstac is faster).
        efficiency: Ideal time under the profile's caps / measured time (None: no caps).
        error: Why the run failed (None when it succeeded).
        repeats: With ``--repeat N``: the seconds of every run; ``seconds`` (and every other
            field) is then the run with the median time.
    """

    peer: str
    scenario: str
    seconds: float
    bytes: int
    note: str = ""
    profile: str = ""
    requests: int | None = None
    wire_bytes: int | None = None
    peak_rss_mib: float | None = None
    cpu_seconds: float | None = None
    import_cpu_seconds: float | None = None
    ratio: float | None = None
    efficiency: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    repeats: list[float] = field(default_factory=list)

    @property
    def mib_per_s(self) -> float | None:
        """Payload throughput in MiB/s (None for a failed run)."""
        if self.error is not None or self.seconds <= 0:
            return None
        return self.bytes / MIB / self.seconds

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``mib_per_s`` and, when repeated, ``seconds_min``/``max``."""
        data = asdict(self)
        data["mib_per_s"] = self.mib_per_s
        if self.repeats:
            data["seconds_min"], data["seconds_max"] = min(self.repeats), max(self.repeats)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measurement:
        """The measurement :meth:`to_json` wrote."""
        derived = {"mib_per_s", "seconds_min", "seconds_max"}
        fields = {k: v for k, v in data.items() if k not in derived}
        return cls(**fields)
