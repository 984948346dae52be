"""No secret string appears anywhere obstac writes, for every recipe, on success and failure.

Each recipe runs against its local double with distinctive credentials, through the library
(``explain``, ``open_asset`` + reads, ``download_item`` with a progress sink) and through the
CLI as users run it (``obstac download --json``, ``obstac read``, ``obstac info --head
--json``: real processes, so each has only the secrets it registers itself). Every path is
taken twice: with the right credentials (one asset present, one missing: 404) and with wrong
ones (403/401, refused token), plus a connection refused. Then the whole harvest is searched
for every secret, raw and percent-encoded: log records at DEBUG (every logger), stdout and
stderr (Python and file-descriptor level), ``repr()`` and ``str()`` of recipes, explanations,
readers, results, reports, errors and events, and every file under every destination (item
JSON, manifest, state files).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import obstac
from obstac import StoreCache
from obstac.recipes import (
    Recipe,
    azure,
    cdse,
    dlr,
    earth_search,
    earthdata,
    explain,
    gcs,
    http,
    planetary_computer,
    s3,
    sharinghub,
)
from obstac.testing import (
    AzuriteServer,
    GCSDouble,
    MotoServer,
    RangeHTTPServer,
    free_port,
)
from obstac.testing.azurite import ACCOUNT_KEY as AZURITE_KEY
from obstac.testing.azurite import ACCOUNT_NAME as AZURITE_ACCOUNT
from obstac.testing.cdse import CDSEDouble
from obstac.testing.dlr import DLRDouble
from obstac.testing.earthdata import EarthdataDoubles
from obstac.testing.http_origin import RecordedRequest, Response
from obstac.testing.planetary_computer import PlanetaryComputerDouble
from obstac.testing.sharinghub import SharingHubDouble
from obstac.transfer import EventLog, TransferOptions
from tests.conftest import FAST_RETRY

DATA = b"secret-free payload " * 64
# Failures are the point here: one attempt each, not the engine's backoff (a refused
# connection would otherwise take ~10 s per asset).
FAIL_FAST = TransferOptions(max_attempts=1)
TIMEOUT = 60

# Distinctive values: any of them in any output is a leak, never a coincidence.
API_KEY = "lk-api-key-6d1f0b9e3a5c7e2d"
BEARER = "lk-bearer-token-8c4a2f6e0d1b3957"
USERINFO_PW = "lk-userinfo-pw-2e7b9d1f5a3c"
WRONG_SECRET = "lk-wrong-secret-4a9c2e8f6b1d3075"
DLR_PW = "lk-dlr-password-1c3e5a7b9d0f"
SH_TOKEN = "glpat-lk-sharinghub-5d7f9b1a3c"
GCS_BEARER = "lk-gcs-bearer-ya29-0f2d4b6a8c"
PC_KEY = "lk-pc-subscription-9e7c5a3b1d0f"
EDL_PASSWORD = "lk-edl-password-7a5c3e1b9d"
CDSE_PASSWORD = "lk-cdse-password-3b5d7f9a1c"
COMMON = (API_KEY, BEARER, USERINFO_PW, WRONG_SECRET, DLR_PW, SH_TOKEN, GCS_BEARER, PC_KEY)


@dataclass
class Case:
    """One recipe, set up against its double, and how to run it both ways.

    Attributes:
        recipe: The recipe with the right credentials.
        wrong: The same recipe with wrong credentials.
        href: An asset holding ``DATA``.
        missing: An href on the same store where nothing is.
        cli_flags: ``--recipe NAME`` and its flags.
        cli_env: The right credentials as the recipe's environment variables.
        wrong_env: Wrong credentials as environment variables.
        secrets: Every secret of the case; called after the runs, so it can include what the
            doubles handed out (SAS tokens, minted keys, STS credentials).
        wrong_flags: The flags of the wrong-credentials runs when they differ (``--header``).
    """

    recipe: Recipe
    wrong: Recipe
    href: str
    missing: str
    cli_flags: list[str]
    cli_env: dict[str, str]
    wrong_env: dict[str, str]
    secrets: Callable[[], list[str]]
    wrong_flags: list[str] | None = None
    texts: list[str] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)


def _item(case: Case, name: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": name,
        "geometry": None,
        "properties": {"datetime": "2024-05-01T00:00:00Z"},
        "links": [],
        "assets": {
            "data": {"href": case.href, "roles": ["data"]},
            "missing": {"href": case.missing, "roles": ["data"]},
        },
    }


def _library(case: Case, tmp: Path) -> None:
    texts = case.texts
    for recipe in (case.recipe, case.wrong):
        texts += [repr(recipe), str(recipe)]
        explanation = explain(case.href, recipe=recipe)
        texts += [repr(explanation), str(explanation)]
    reader = obstac.open_asset(case.href, recipe=case.recipe, cache=StoreCache())
    assert bytes(reader.read()) == DATA
    assert bytes(reader.read_range(3, 30)) == DATA[3:30]
    texts.append(repr(reader))
    failures: list[tuple[Recipe, str]] = [(case.wrong, case.href), (case.recipe, case.missing)]
    for recipe, href in failures:
        with pytest.raises(obstac.ObstacError) as caught:
            obstac.open_asset(href, recipe=recipe, cache=StoreCache()).read_range(0, 10)
        error = caught.value
        texts += [str(error), repr(error), repr(error.args), repr(error.__dict__)]
        texts += [repr(error.__cause__), repr(error.__context__)]
    for label, recipe in (("right", case.recipe), ("wrong", case.wrong)):
        events = EventLog()
        dest = tmp / f"lib-{label}"
        case.dirs.append(dest)
        try:
            result = obstac.download_item(
                _item(case, label), dest, recipe=recipe, progress=events, options=FAIL_FAST
            )
            texts += [repr(result), repr(result.report), json.dumps(result.to_dict())]
        except obstac.ObstacError as error:
            texts += [str(error), repr(error), repr(getattr(error, "report", None))]
        texts += [repr(event) for event in events.events]
        assert events.of_kind("fail")  # the missing asset, at least


def _cli(args: Sequence[str], env: dict[str, str], case: Case) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "PC_SDK", "DLR_", "SHARINGHUB", "EARTH"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "obstac.cli", *args],
        capture_output=True,
        text=True,
        env={**base, "COLUMNS": "250", "NETRC": os.devnull, **env},
        timeout=TIMEOUT,
        check=False,
    )
    case.texts += [done.stdout, done.stderr]
    return done


def _command_line(case: Case, tmp: Path) -> None:
    item = tmp / "item.json"
    item.write_text(json.dumps(_item(case, "cli")))
    wrong_flags = case.wrong_flags if case.wrong_flags is not None else case.cli_flags
    runs = (("right", case.cli_env, case.cli_flags), ("wrong", case.wrong_env, wrong_flags))
    for label, env, flags in runs:
        dest = tmp / f"cli-{label}"
        case.dirs.append(dest)
        done = _cli(["download", str(item), "-o", str(dest), "--json", *flags], env, case)
        assert done.returncode == 1, done.stderr  # "missing" always fails
        assert '"kind": "fail"' in done.stderr or '"fail"' in done.stderr
        info = _cli(["info", str(item), "--head", "--json", *flags], env, case)
        # 1: the missing asset failed its HEAD. -SIGABRT: a known, intermittent abort of the
        # process at interpreter exit after `info --head` (no Python frame; seen with Azure),
        # after all output was written, which is what this test inspects.
        assert info.returncode in (1, -signal.SIGABRT), info.stderr or info.stdout
    out = tmp / "read.bin"
    flags = case.cli_flags
    read = _cli(["read", case.href, "--range", "0-9", "-o", str(out), *flags], case.cli_env, case)
    assert read.returncode == 0, read.stderr
    assert out.read_bytes() == DATA[:10]
    wrong = _cli(["read", case.href, *wrong_flags], case.wrong_env, case)
    assert wrong.returncode == 1
    missing = _cli(["read", case.missing, *flags], case.cli_env, case)
    assert missing.returncode == 1


def _harvest_files(dirs: list[Path]) -> Iterator[tuple[str, bytes]]:
    for root in dirs:
        if root.exists():
            for path in root.rglob("*"):
                if path.is_file():
                    yield str(path), path.read_bytes()


def _assert_nothing_leaked(
    case: Case, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    captured = capfd.readouterr()
    texts = [*case.texts, captured.out, captured.err]
    # The doubles' own boto3 clients (IAM, STS) log their answers: not obstac's output.
    records = [r for r in caplog.records if not r.name.startswith(("botocore", "boto3"))]
    texts += [r.getMessage() for r in records]
    texts += [repr(r.args) for r in records]
    assert logging.getLogger("obstac").getEffectiveLevel() == logging.DEBUG
    files = list(_harvest_files(case.dirs))
    assert any(name.endswith(".json") for name, _ in files)  # item JSON was written
    secrets = {s for s in [*case.secrets(), *COMMON] if s}
    forms = {form for s in secrets for form in (s, quote(s, safe=""))}
    for form in sorted(forms):
        for text in texts:
            assert form not in text, f"secret {form[:6]}... leaked in: {text[:3000]}"
        for name, content in files:
            assert form.encode() not in content, f"secret {form[:6]}... leaked in {name}"


def _run(case: Case, tmp: Path, caplog: Any, capfd: Any) -> None:
    caplog.set_level(logging.DEBUG)
    _library(case, tmp)
    _command_line(case, tmp)
    _assert_nothing_leaked(case, caplog, capfd)


# -- a local origin that checks a header -----------------------------------------------------


class KeyedOrigin(RangeHTTPServer):
    """Serves its objects only to requests with ``X-Api-Key`` API_KEY, ``Authorization:
    Bearer`` BEARER or basic auth with USERINFO_PW; 403 otherwise."""

    def handle(self, request: RecordedRequest) -> Response | None:
        import base64

        key = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        basic = f"Basic {base64.b64encode(f'reader:{USERINFO_PW}'.encode()).decode()}"
        if key == API_KEY or auth in (f"Bearer {BEARER}", basic):
            return None
        return Response(403, {"Content-Type": "text/plain"}, b"forbidden")


@pytest.fixture(scope="module")
def keyed() -> Iterator[KeyedOrigin]:
    with KeyedOrigin() as origin:
        origin.put("lk/data.bin", DATA)
        yield origin


def _refused_port() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_http_custom_header(keyed: KeyedOrigin, tmp_path: Path, caplog: Any, capfd: Any) -> None:
    case = Case(
        recipe=http(headers={"X-Api-Key": API_KEY}, retry_config=FAST_RETRY),
        wrong=http(headers={"X-Api-Key": WRONG_SECRET}, retry_config=FAST_RETRY),
        href=f"{keyed.url}/lk/data.bin",
        missing=f"{keyed.url}/lk/none.bin",
        cli_flags=["--recipe", "http", "--retries", "0"],
        cli_env={},
        wrong_env={},
        secrets=lambda: [API_KEY, WRONG_SECRET],
    )
    case.wrong_flags = [*case.cli_flags, "--header", f"X-Api-Key: {WRONG_SECRET}"]
    case.cli_flags += ["--header", f"X-Api-Key: {API_KEY}"]
    _run(case, tmp_path, caplog, capfd)
    gone = f"{_refused_port()}/lk/data.bin"
    _cli(["read", gone, "--recipe", "http", "--header", f"X-Api-Key: {API_KEY}"], {}, case)
    _assert_nothing_leaked(case, caplog, capfd)


def test_http_bearer_and_userinfo(
    keyed: KeyedOrigin, tmp_path: Path, caplog: Any, capfd: Any
) -> None:
    with_pw = keyed.url.replace("http://", f"http://reader:{USERINFO_PW}@")
    case = Case(
        recipe=http(retry_config=FAST_RETRY),
        wrong=http(headers={"Authorization": f"Bearer {WRONG_SECRET}"}, retry_config=FAST_RETRY),
        href=f"{with_pw}/lk/data.bin",
        missing=f"{with_pw}/lk/none.bin",
        cli_flags=["--recipe", "http", "--retries", "0"],
        cli_env={},
        wrong_env={},
        secrets=lambda: [USERINFO_PW, WRONG_SECRET],
        wrong_flags=["--recipe", "http", "--header", f"Authorization: Bearer {WRONG_SECRET}"],
    )
    _run(case, tmp_path, caplog, capfd)
    bearer = http(headers={"Authorization": f"Bearer {BEARER}"}, retry_config=FAST_RETRY)
    plain = f"{keyed.url}/lk/data.bin"
    assert bytes(obstac.open_asset(plain, recipe=bearer).read()) == DATA
    with pytest.raises(obstac.RemoteError) as caught:
        obstac.open_asset(f"{_refused_port()}/x", recipe=bearer).read()
    case.texts += [str(caught.value), repr(caught.value)]
    _assert_nothing_leaked(case, caplog, capfd)


# -- S3 with signatures checked ----------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_moto(moto_auth_server: MotoServer) -> MotoServer:
    if not _has_bucket(moto_auth_server, "lk-secrets"):  # the session's moto may hold it
        moto_auth_server.create_bucket("lk-secrets")
    moto_auth_server.put("lk-secrets", "lk/data.bin", DATA)
    return moto_auth_server


def test_s3(signed_moto: MotoServer, tmp_path: Path, caplog: Any, capfd: Any) -> None:
    keys = signed_moto.keys
    assert keys is not None
    url = signed_moto.url
    case = Case(
        recipe=s3(
            endpoint=url,
            access_key_id=keys.access_key_id,
            secret_access_key=keys.secret_access_key,
            retry_config=FAST_RETRY,
        ),
        wrong=s3(
            endpoint=url,
            access_key_id=keys.access_key_id,
            secret_access_key=WRONG_SECRET,
            session_token=BEARER,
            retry_config=FAST_RETRY,
        ),
        href="s3://lk-secrets/lk/data.bin",
        missing="s3://lk-secrets/lk/none.bin",
        cli_flags=["--recipe", "s3", "--endpoint", url, "--retries", "0"],
        cli_env={
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
        },
        wrong_env={
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": WRONG_SECRET,
            "AWS_SESSION_TOKEN": BEARER,
        },
        secrets=lambda: [keys.secret_access_key, WRONG_SECRET, BEARER],
    )
    _run(case, tmp_path, caplog, capfd)
    gone = _refused_port()
    _cli(["read", case.href, "--recipe", "s3", "--endpoint", gone], case.wrong_env, case)
    _assert_nothing_leaked(case, caplog, capfd)


def test_earth_search_requester_pays(
    signed_moto: MotoServer, tmp_path: Path, caplog: Any, capfd: Any
) -> None:
    keys = signed_moto.keys
    assert keys is not None
    url = signed_moto.url
    env = {"AWS_ACCESS_KEY_ID": keys.access_key_id, "AWS_SECRET_ACCESS_KEY": keys.secret_access_key}
    wrong_env = {"AWS_ACCESS_KEY_ID": keys.access_key_id, "AWS_SECRET_ACCESS_KEY": WRONG_SECRET}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        recipe = earth_search(endpoint=url, requester_pays=True, retry_config=FAST_RETRY)
        explain("s3://lk-secrets/lk/data.bin", recipe=recipe)
    case = Case(
        recipe=recipe,
        wrong=s3(
            endpoint=url,
            access_key_id=keys.access_key_id,
            secret_access_key=WRONG_SECRET,
            requester_pays=True,
            retry_config=FAST_RETRY,
        ),
        href="s3://lk-secrets/lk/data.bin",
        missing="s3://lk-secrets/lk/none.bin",
        cli_flags=["--recipe", "earth-search", "--endpoint", url, "--requester-pays"],
        cli_env=env,
        wrong_env=wrong_env,
        secrets=lambda: [keys.secret_access_key, WRONG_SECRET],
    )
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        _run(case, tmp_path, caplog, capfd)


# -- Azure: shared key, and Planetary Computer's SAS tokens -------------------------------------


@pytest.fixture(scope="module")
def azurite_container(azurite_server: AzuriteServer) -> AzuriteServer:
    from azure.core.exceptions import ResourceExistsError

    with contextlib.suppress(ResourceExistsError):  # the session's Azurite may hold it
        azurite_server.create_container("lk-secrets")
    azurite_server.put("lk-secrets", "lk/data.bin", DATA)
    return azurite_server


def test_azure_account_key(
    azurite_container: AzuriteServer, tmp_path: Path, caplog: Any, capfd: Any
) -> None:
    endpoint = f"http://127.0.0.1:{azurite_container.port}/{{account}}"
    blob = f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/lk-secrets"
    wrong_key = "bGstd3Jvbmcta2V5LTRhOWMyZThmNmIxZDMwNzU="
    case = Case(
        recipe=azure(account_key=AZURITE_KEY, endpoint=endpoint, retry_config=FAST_RETRY),
        wrong=azure(account_key=wrong_key, endpoint=endpoint, retry_config=FAST_RETRY),
        href=f"{blob}/lk/data.bin",
        missing=f"{blob}/lk/none.bin",
        cli_flags=["--recipe", "azure", "--endpoint", endpoint, "--retries", "0"],
        cli_env={"AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY},
        wrong_env={"AZURE_STORAGE_ACCOUNT_KEY": wrong_key},
        secrets=lambda: [AZURITE_KEY, wrong_key],
    )
    _run(case, tmp_path, caplog, capfd)


def test_planetary_computer_sas(
    azurite_container: AzuriteServer, tmp_path: Path, caplog: Any, capfd: Any
) -> None:
    endpoint = f"http://127.0.0.1:{azurite_container.port}/{AZURITE_ACCOUNT}"
    blob = f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/lk-secrets"
    with PlanetaryComputerDouble(azurite_container, subscription_key=PC_KEY) as pc:
        options: dict[str, Any] = {"sas_url": pc.sas_url, "blob_endpoint": endpoint}
        case = Case(
            recipe=planetary_computer(subscription_key=PC_KEY, **options, retry_config=FAST_RETRY),
            wrong=planetary_computer(subscription_key=WRONG_SECRET, **options),
            href=f"{blob}/lk/data.bin",
            missing=f"{blob}/lk/none.bin",
            cli_flags=[
                "--recipe",
                "planetary-computer",
                "--sas-url",
                pc.sas_url,
                "--endpoint",
                endpoint,
                "--retries",
                "0",
            ],
            cli_env={"PC_SDK_SUBSCRIPTION_KEY": PC_KEY},
            wrong_env={"PC_SDK_SUBSCRIPTION_KEY": WRONG_SECRET},
            secrets=lambda: (
                [PC_KEY, WRONG_SECRET]
                + [t.token for t in pc.issued]
                + [p.split("=", 1)[1] for t in pc.issued for p in t.token.split("&") if "sig=" in p]
            ),
        )
        _run(case, tmp_path, caplog, capfd)
        assert len(pc.issued) >= 2  # library and CLI each signed: real SAS tokens were checked


# -- GCS with a bearer token ---------------------------------------------------------------------


def test_gcs_bearer(gcs_double: GCSDouble, tmp_path: Path, caplog: Any, capfd: Any) -> None:
    gcs_double.put("lk-secrets", "lk/data.bin", DATA)
    url = gcs_double.url
    gone = _refused_port()  # the double checks no token: "wrong" is a connection refused
    case = Case(
        recipe=gcs(endpoint=url, bearer_token=GCS_BEARER, retry_config=FAST_RETRY),
        wrong=gcs(endpoint=gone, bearer_token=WRONG_SECRET, retry_config={"max_retries": 0}),
        href="gs://lk-secrets/lk/data.bin",
        missing="gs://lk-secrets/lk/none.bin",
        cli_flags=["--recipe", "gcs", "--endpoint", url, "--retries", "0"],
        cli_env={"GOOGLE_BEARER_TOKEN": GCS_BEARER},
        wrong_env={"GOOGLE_BEARER_TOKEN": WRONG_SECRET},
        secrets=lambda: [GCS_BEARER, WRONG_SECRET],
        wrong_flags=["--recipe", "gcs", "--endpoint", gone, "--retries", "0"],
    )
    _run(case, tmp_path, caplog, capfd)
    assert any(GCS_BEARER in r.headers.get("authorization", "") for r in gcs_double.requests)


# -- DLR (basic auth) and SharingHub (GitLab token) -----------------------------------------------


def test_dlr(tmp_path: Path, caplog: Any, capfd: Any) -> None:
    with DLRDouble(mode="sso", username="lk-user", password=DLR_PW) as server:
        href = server.put("ENMAP/files/lk/data.bin", DATA)
        case = Case(
            recipe=dlr("lk-user", DLR_PW, base_url=server.url, retry_config=FAST_RETRY),
            wrong=dlr("lk-user", WRONG_SECRET, base_url=server.url, retry_config=FAST_RETRY),
            href=href,
            missing=href.replace("data.bin", "none.bin"),
            cli_flags=["--recipe", "dlr", "--base-url", server.url, "--retries", "0"],
            cli_env={"DLR_USERNAME": "lk-user", "DLR_PASSWORD": DLR_PW},
            wrong_env={"DLR_USERNAME": "lk-user", "DLR_PASSWORD": WRONG_SECRET},
            secrets=lambda: [DLR_PW, WRONG_SECRET],
        )
        _run(case, tmp_path, caplog, capfd)
        assert not server.authorization_reached_login


def test_sharinghub(tmp_path: Path, caplog: Any, capfd: Any) -> None:
    with SharingHubDouble(tokens=(SH_TOKEN,)) as hub:
        href = hub.put("lk/project", "data.bin", DATA)
        case = Case(
            recipe=sharinghub(SH_TOKEN, base_url=hub.url, retry_config=FAST_RETRY),
            wrong=sharinghub(WRONG_SECRET, base_url=hub.url, retry_config=FAST_RETRY),
            href=href,
            missing=hub.href("lk/project", "none.bin"),
            cli_flags=["--recipe", "sharinghub", "--base-url", hub.url, "--retries", "0"],
            cli_env={"SHARINGHUB_TOKEN": SH_TOKEN},
            wrong_env={"SHARINGHUB_TOKEN": WRONG_SECRET},
            secrets=lambda: [SH_TOKEN, WRONG_SECRET],
        )
        _run(case, tmp_path, caplog, capfd)
        # A token in the href itself is a credential too: read, never shown, never saved.
        tokened = f"{hub.href('lk/project', 'data.bin')}&gitlab_token={SH_TOKEN}"
        case.texts.clear()
        case.href = tokened
        case.recipe = sharinghub(base_url=hub.url, retry_config=FAST_RETRY)
        case.cli_env = {}
        case.dirs.clear()
        _run(case, tmp_path / "tokened", caplog, capfd)


# -- CDSE (S3 keys, and keys minted from an OIDC login) and Earthdata ---------------------------


def test_cdse(signed_moto: MotoServer, tmp_path: Path, caplog: Any, capfd: Any) -> None:
    if not _has_bucket(signed_moto, "eodata"):
        signed_moto.create_bucket("eodata")
    signed_moto.put("eodata", "lk/data.bin", DATA)
    keys = signed_moto.keys
    assert keys is not None
    url = signed_moto.url
    with CDSEDouble(signed_moto, password=CDSE_PASSWORD) as double:
        login = cdse(
            username=double.username,
            password=CDSE_PASSWORD,
            identity_url=double.token_url,
            keys_url=double.keys_url,
            endpoint=url,
            key_propagation_delay=0,
            retry_config=FAST_RETRY,
        )
        case = Case(
            recipe=login,
            wrong=cdse(
                access_key_id=keys.access_key_id,
                secret_access_key=WRONG_SECRET,
                endpoint=url,
                retry_config=FAST_RETRY,
            ),
            href="s3://eodata/lk/data.bin",
            missing="s3://eodata/lk/none.bin",
            cli_flags=["--recipe", "cdse", "--endpoint", url, "--retries", "0"],
            cli_env={
                "CDSE_S3_ACCESS_KEY": keys.access_key_id,
                "CDSE_S3_SECRET_KEY": keys.secret_access_key,
            },
            wrong_env={
                "CDSE_S3_ACCESS_KEY": keys.access_key_id,
                "CDSE_S3_SECRET_KEY": WRONG_SECRET,
            },
            secrets=lambda: (
                [CDSE_PASSWORD, WRONG_SECRET, keys.secret_access_key, *double.handed_out]
            ),
        )
        _run(case, tmp_path, caplog, capfd)
        assert double.handed_out  # a key was really minted, and is searched for
        login.revoke_keys()
        wrong_login = cdse(
            username=double.username,
            password=WRONG_SECRET,
            identity_url=double.token_url,
            keys_url=double.keys_url,
            endpoint=url,
            key_propagation_delay=0,
        )
        with pytest.raises(obstac.CredentialsError) as caught:
            obstac.open_asset(case.href, recipe=wrong_login).read()
        case.texts += [str(caught.value), repr(caught.value), repr(wrong_login)]
        _assert_nothing_leaked(case, caplog, capfd)


def _has_bucket(moto: MotoServer, bucket: str) -> bool:
    client = moto.client()
    return any(b["Name"] == bucket for b in client.list_buckets()["Buckets"])


def test_earthdata(moto_auth_server: MotoServer, tmp_path: Path, caplog: Any, capfd: Any) -> None:
    bucket, key = "lp-prod-protected", "lk/HLS.B04.tif"
    with EarthdataDoubles(moto_auth_server) as nasa:
        nasa.put(bucket, key, DATA)
        user = nasa.add_user("lk-alice", EDL_PASSWORD)
        options: dict[str, Any] = {
            "edl_host": nasa.edl_url,
            "s3_endpoint": nasa.s3_endpoint,
            "credentials_url": nasa.credentials_url,
            "in_region": True,
            "retry_config": FAST_RETRY,
        }
        env = {"AWS_REGION": "us-west-2"}
        flags = ["--recipe", "earthdata", "--edl-host", nasa.edl_url, "--retries", "0"]
        flags += ["--endpoint", nasa.s3_endpoint, "--credentials-url", nasa.credentials_url]
        # In region: the token buys STS keys from s3credentials; all of them are secrets.
        case = Case(
            recipe=earthdata(token=user.token, **options),
            wrong=earthdata(token=WRONG_SECRET, **options),
            href=f"s3://{bucket}/{key}",
            missing=f"s3://{bucket}/lk/none.tif",
            cli_flags=flags,
            cli_env={"EARTHDATA_TOKEN": user.token, **env},
            wrong_env={"EARTHDATA_TOKEN": WRONG_SECRET, **env},
            secrets=lambda: (
                [user.token, EDL_PASSWORD, WRONG_SECRET]
                + [v for issued in nasa.issuer.issued for v in issued.values() if len(v) > 12]
            ),
        )
        _run(case, tmp_path, caplog, capfd)
        assert nasa.issuer.issued  # STS keys were handed out, and are searched for
        # Out of region: a password buys an EDL token, sent to the DAAC, which redirects to a
        # presigned URL (a signature in a query: a secret too).
        https = Case(
            recipe=earthdata(
                username="lk-alice",
                password=EDL_PASSWORD,
                edl_host=nasa.edl_url,
                in_region=False,
                https_to_s3={f"{nasa.daac.url}/{bucket}/": f"s3://{bucket}/"},
                retry_config=FAST_RETRY,
            ),
            wrong=earthdata(
                username="lk-alice",
                password=WRONG_SECRET,
                edl_host=nasa.edl_url,
                in_region=False,
                https_to_s3={f"{nasa.daac.url}/{bucket}/": f"s3://{bucket}/"},
                retry_config=FAST_RETRY,
            ),
            href=nasa.https_url(bucket, key),
            missing=nasa.https_url(bucket, "lk/none.tif"),
            cli_flags=[],
            cli_env={},
            wrong_env={},
            secrets=case.secrets,
        )
        _library(https, tmp_path / "out-of-region")
        signatures = [
            part.split("=", 1)[1]
            for r in nasa.data.requests
            for part in r.query.split("&")
            if part.startswith("X-Amz-Signature=")
        ]
        assert signatures
        https.secrets = lambda: [*case.secrets(), *signatures]
        https.texts += case.texts
        https.dirs += case.dirs
        _assert_nothing_leaked(https, caplog, capfd)
