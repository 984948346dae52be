"""Access to the real STAC items in ../shared/fixtures (read in place, never copied here)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obstac.hrefs import storage_options_of

REPO = Path(__file__).resolve().parents[1]


def fixtures_dir() -> Path:
    """``../shared/fixtures`` beside the clone (CI has it there), or ``$OBSTAC_FIXTURES``."""
    path = Path(os.environ.get("OBSTAC_FIXTURES", REPO.parent / "shared" / "fixtures"))
    if not (path / "items").is_dir():
        raise RuntimeError(
            f"shared fixtures not found at {path}: clone obstac beside ../shared, or set "
            "OBSTAC_FIXTURES to the fixtures folder"
        )
    return path


@dataclass(frozen=True)
class FixtureAsset:
    """One asset href of a fixture item, with what parsing and routing it needs."""

    source: str
    key: str
    href: str
    base: str | None
    fields: Mapping[str, Any]

    @property
    def storage_options(self) -> Mapping[str, Any] | None:
        return storage_options_of(self.fields)


def iter_fixture_items() -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, STAC object) for every Item, Collection and ItemCollection feature."""
    for path in sorted((fixtures_dir() / "items").glob("*.json")):
        document = json.loads(path.read_text())
        for stac in document.get("features") or [document]:
            yield path.name, stac


def _self_href(stac: Mapping[str, Any]) -> str | None:
    for link in stac.get("links") or []:
        if link.get("rel") == "self":
            return str(link["href"])
    return None


def iter_fixture_assets() -> Iterator[FixtureAsset]:
    """Every asset href and every ``alternate`` href of every fixture item."""
    for source, stac in iter_fixture_items():
        properties = stac.get("properties") or {}
        base = _self_href(stac)
        for key, asset in (stac.get("assets") or {}).items():
            fields = {**properties, **{k: v for k, v in asset.items() if k != "href"}}
            yield FixtureAsset(source, key, asset["href"], base, fields)
            for name, alternate in (asset.get("alternate") or {}).items():
                if "href" in alternate:
                    yield FixtureAsset(source, f"{key}#{name}", alternate["href"], base, fields)
