"""The ``obstac`` argument parser: commands, flags and their help texts."""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from typing import NoReturn

import obstac
from obstac._redact import redact
from obstac.cli._demo import cmd_bench, cmd_demo
from obstac.cli._download import cmd_download
from obstac.cli._errors import EXIT_OK, EXIT_USAGE, PROG
from obstac.cli._info import cmd_info
from obstac.cli._read import cmd_read, parse_ranges
from obstac.cli._recipes import RECIPE_NAMES, header, recipe_name, recipes_epilog

__all__ = ["build_parser"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions as usual, but keeps texts with line breaks (examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """argparse, with its error messages redacted (a flag's value may be a secret)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(
            EXIT_USAGE,
            f"{self.prog}: error: {redact(message)}\n(run '{self.prog} --help' for the options)\n",
        )


class _VersionAction(argparse.Action):
    """``--version``: one unwrapped line on stdout (argparse's own action wraps at 80)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> NoReturn:
        sys.stdout.write(_versions() + "\n")
        sys.stdout.flush()
        parser.exit(EXIT_OK)


def _versions() -> str:
    parts = []
    for name in ("obstore", "pystac", "pystac-client"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} ?")
    python = ".".join(str(n) for n in sys.version_info[:3])
    return f"{PROG} {obstac.__version__} ({', '.join(parts)}, Python {python})"


def _add_recipe_options(parser: argparse.ArgumentParser, *, scope: str) -> None:
    group = parser.add_argument_group(
        "recipe",
        "Without --recipe, obstac picks one per asset from its href and metadata. "
        f"--recipe NAME {scope}. Credentials come from the recipe's environment variables "
        "(listed below), so they stay out of shell history; --header is for http tokens.",
    )
    group.add_argument(
        "--recipe",
        metavar="NAME",
        type=recipe_name,
        help=f"one of: {', '.join(RECIPE_NAMES)}",
    )
    group.add_argument(
        "--endpoint",
        "--s3-endpoint",
        dest="endpoint",
        metavar="URL",
        help="store endpoint in place of the provider's (a MinIO, moto or Azurite URL); "
        "s3, azure, gcs, earth-search, cdse, usgs-astrogeology, earthdata (S3), "
        "planetary-computer (blob endpoint)",
    )
    group.add_argument("--region", help="S3 region (s3, earth-search)")
    group.add_argument(
        "--requester-pays",
        action="store_true",
        help="pay for requester-pays buckets (s3, earth-search, cdse); needs AWS keys",
    )
    group.add_argument(
        "--anonymous",
        action="store_true",
        help="send unsigned requests, even with credentials set (s3, azure, gcs)",
    )
    group.add_argument(
        "--header",
        dest="headers",
        metavar="'NAME: VALUE'",
        action="append",
        type=header,
        help="HTTP header for every request (http; repeatable); values of Authorization, "
        "*token*, *key* headers are redacted everywhere",
    )
    group.add_argument("--account-name", help="Azure storage account for az:// hrefs (azure)")
    group.add_argument("--sas-url", metavar="URL", help="SAS token API (planetary-computer)")
    group.add_argument("--base-url", metavar="URL", help="download server (dlr, sharinghub)")
    group.add_argument("--edl-host", metavar="HOST", help="Earthdata Login host (earthdata)")
    group.add_argument(
        "--credentials-url", metavar="URL", help="/s3credentials endpoint (earthdata)"
    )
    group.add_argument(
        "--allow-insecure-credentials",
        action="store_true",
        help="send credentials over plain http:// to a host that is not this machine "
        "(s3, azure, gcs, http, dlr, sharinghub); refused by default, loopback always allowed",
    )
    group.add_argument(
        "--retries",
        type=_count,
        metavar="N",
        help="obstore retries per request (every recipe but local; obstore's default is 10)",
    )


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("asset selection")
    group.add_argument(
        "--include",
        metavar="KEY",
        action="append",
        help="only this asset key (repeatable)",
    )
    group.add_argument(
        "--exclude", metavar="KEY", action="append", help="not this asset key (repeatable)"
    )
    group.add_argument(
        "--role",
        metavar="ROLE",
        action="append",
        help="only assets with this role, e.g. data (repeatable: any of them)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``obstac`` argument parser (also used to render the docs of the flags)."""
    from obstac.download import DEFAULT_LAYOUT
    from obstac.transfer import DEFAULT_MAX_REQUESTS

    parser = _Parser(
        prog=PROG,
        description="Get the bytes behind STAC assets: download items, read byte ranges, "
        "explain which recipe and credentials each asset uses.",
        epilog="Exit codes: 0 success; 1 an asset, read or HEAD failed; 2 bad usage or input; "
        "130 interrupted. Run 'obstac COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        nargs=0,
        help="show the versions of obstac, obstore, pystac, pystac-client and Python, and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    download = commands.add_parser(
        "download",
        help="download the assets of STAC items (from a file or stdin) to a folder or store",
        description="Download the selected assets of every item to DEST/<layout>/, write each "
        "item's JSON beside its assets (hrefs made relative, originals kept as 'alternate'), "
        "and print the updated ItemCollection as one JSON line on stdout. Files already there "
        "are skipped when proven identical (file:size and file:checksum, or the recorded "
        "ETag); partial files are resumed.",
        epilog="Examples:\n"
        "  stac-client search URL -c COLLECTION --max-items 10 | obstac download -o data/\n"
        "  rustac search URL --max-items 100 items.ndjson && obstac download items.ndjson "
        "-o data/ --role data\n"
        "  obstac download item.json -o s3://bucket/mirror --json 2> events.ndjson\n\n"
        "Exit code: 0 only when every selected asset is on disk and verified;\n"
        "1 when any failed (a table of failures goes to stderr); 2 for bad usage or input.\n\n"
        + recipes_epilog(),
        formatter_class=_Formatter,
    )
    download.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="an Item or ItemCollection JSON file, or NDJSON (one Item per line); '-' or "
        "nothing reads stdin",
    )
    download.add_argument(
        "-o",
        "--dest",
        required=True,
        metavar="DEST",
        help="a folder, or a store URL to mirror into (s3://bucket/prefix, az://..., gs://...)",
    )
    _add_filters(download)
    download.add_argument(
        "--layout",
        default=DEFAULT_LAYOUT,
        metavar="TEMPLATE",
        help="folder of each item under DEST (default %(default)r; fields: {id}, "
        "{collection}, {year}, {month}, {day}, {date}, any item property; '' for DEST itself)",
    )
    download.add_argument(
        "--dest-endpoint",
        metavar="URL",
        help="endpoint of the store DEST names (a MinIO, moto or Azurite URL), credentials "
        "from that store's environment variables; by default a --recipe that can serve DEST "
        "writes to it, else obstac chooses from DEST",
    )
    download.add_argument(
        "--overwrite", action="store_true", help="download even files proven identical"
    )
    download.add_argument(
        "--concurrency",
        type=_positive_int,
        metavar="N",
        help=f"requests in flight at once (default {DEFAULT_MAX_REQUESTS}, measured: "
        "fewer leave a fast link idle on many small files)",
    )
    download.add_argument(
        "--on-error",
        choices=("continue", "raise"),
        default="continue",
        help="continue (default): download all that can be; raise: stop at the first failure",
    )
    download.add_argument(
        "--keep-signed-hrefs",
        action="store_true",
        help="keep SAS tokens and presigned signatures in the written hrefs (default: removed)",
    )
    download.add_argument(
        "--output-json",
        metavar="FILE",
        help="write the updated ItemCollection to FILE instead of stdout",
    )
    output = download.add_mutually_exclusive_group()
    output.add_argument(
        "-q", "--quiet", action="store_true", help="no progress; failures are still reported"
    )
    output.add_argument(
        "--json",
        action="store_true",
        help="progress as one JSON event per line on stderr, ending with a 'summary' event",
    )
    _add_recipe_options(
        download,
        scope="reads every asset that recipe can serve; the others still get the automatic "
        "choice (an item's thumbnail on another host keeps working)",
    )
    download.set_defaults(handler=cmd_download)

    read = commands.add_parser(
        "read",
        help="write an asset's bytes, or byte ranges of it, to stdout or a file",
        description="Read one href (s3://, az://, gs://, https://, a local path...) and write "
        "its bytes to stdout or -o FILE. Several ranges are read together (ranges at most "
        "128 KiB apart share one request) and written one after the other.",
        epilog="Examples:\n"
        "  obstac read s3://bucket/scene.tif --range 0-16383 | xxd | head\n"
        "  obstac read https://host/a.tif --range 0-99 --range -1024 -o parts.bin\n\n"
        + recipes_epilog(),
        formatter_class=_Formatter,
    )
    read.add_argument("href", metavar="HREF", help="the asset href or a local path")
    read.add_argument(
        "--range",
        action="append",
        type=parse_ranges,
        metavar="START-END",
        help="bytes START to END included (as HTTP and curl -r count), START- to the end, or "
        "-N the last N; repeatable, or comma-separated",
    )
    read.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    _add_recipe_options(read, scope="must serve HREF")
    read.set_defaults(handler=cmd_read)

    info = commands.add_parser(
        "info",
        help="explain, without downloading, how each asset would be read",
        description="For each asset: item, key, roles, the recipe obstac picks, the store, where "
        "the credential comes from (never its value), the size (file:size, or one HEAD each "
        "with --head), and with --dest what 'download -o DEST' would do with its file.",
        epilog="Examples:\n"
        "  stac-client search URL --max-items 5 | obstac info\n"
        "  obstac info items.ndjson --head --dest data/ --json\n"
        "  obstac info s3://bucket/scene.tif --head\n\n" + recipes_epilog(),
        formatter_class=_Formatter,
    )
    info.add_argument(
        "source",
        nargs="?",
        metavar="INPUT|-|HREF",
        help="an Item/ItemCollection/NDJSON file, '-' or nothing for stdin, or one asset href",
    )
    info.add_argument("--head", action="store_true", help="one HEAD per asset for size and ETag")
    info.add_argument(
        "--dest",
        metavar="DIR",
        help="say what a download to DIR would skip, resume or fetch",
    )
    info.add_argument(
        "--layout",
        metavar="TEMPLATE",
        help=f"the download's --layout, for --dest (default {DEFAULT_LAYOUT!r})",
    )
    info.add_argument("--json", action="store_true", help="one JSON object per asset on stdout")
    _add_filters(info)
    _add_recipe_options(
        info, scope="is tried first for every asset it can serve, as 'download' does"
    )
    info.set_defaults(handler=cmd_info)

    demo = commands.add_parser(
        "demo",
        help="run the whole job offline against bundled local servers ('obstac demo --help')",
        add_help=False,
    )
    demo.add_argument("arguments", nargs=argparse.REMAINDER)
    demo.set_defaults(handler=cmd_demo)

    bench = commands.add_parser(
        "bench",
        help="run the benchmark suite of the clone you are in ('obstac bench --help')",
        add_help=False,
    )
    bench.add_argument("arguments", nargs=argparse.REMAINDER)
    bench.set_defaults(handler=cmd_bench)
    return parser
