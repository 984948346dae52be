"""Keep secrets out of every string obstac shows: errors, log lines, reprs, events.

Three layers, applied together by :func:`redact`:

1. URL userinfo (``https://user:password@host``) loses its password.
2. Query parameters that carry credentials (SAS ``sig``, presigned ``X-Amz-Signature``,
   ``gitlab_token``, ``access_token``, ...) keep their name but lose their value; a query on an
   Azure blob URL is a SAS token as a whole and is replaced entirely.
3. Secret values that recipes registered with :func:`register_secret` (keys, tokens, passwords)
   are replaced wherever they appear, whatever the surrounding text looks like.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"

_SENSITIVE_PARAM = re.compile(
    r"(?i)^(sig|signature|se|st|sp|sv|sr|skoid|sktid|skt|ske|sks|skv|spr|srt|ss|"
    r"x-amz-(signature|credential|security-token)|x-goog-(signature|credential)|"
    r"awsaccesskeyid|gitlab_token|private_token|access_token|id_token|api_?key|apikey|"
    r"key|code|password|passwd|secret|client_secret|token|auth|authorization)$"
)
# Query pairs inside free text (obstore error messages embed full request URLs).
_QUERY_PAIR_IN_TEXT = re.compile(r"([?&;])([A-Za-z0-9_\-]+)=([^&\s\"'<>#)]*)")
_USERINFO_IN_TEXT = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/@\s:]*):([^@/\s]*)@")
_BEARER_IN_TEXT = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")

_MIN_SECRET_LENGTH = 4
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact` hides it in any text from now on.

    Recipes call this for every key, token and password they are given or fetch. Very short
    values are ignored (they would redact ordinary words) but are still never printed by obstac.
    """
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def _is_sas_host(host: str) -> bool:
    return host.endswith((".blob.core.windows.net", ".dfs.core.windows.net"))


def redact_url(url: str) -> str:
    """Return ``url`` with its credentials (userinfo password, signing query values) hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if not parts.scheme or not parts.netloc:
        return _redact_registered(url)
    netloc = parts.netloc
    # In abfs[s]://container@account... the part before "@" is a container, not a credential.
    if "@" in netloc and parts.scheme.lower() not in ("abfs", "abfss"):
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostport}" if ":" in userinfo else f"{REDACTED}@{hostport}"
    query = parts.query
    if query:
        if _is_sas_host(parts.hostname or ""):
            query = "<SAS token redacted>"
        else:
            query = "&".join(_redact_pair(pair) for pair in query.split("&"))
    return _redact_registered(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def has_credential_query(url: str) -> bool:
    """Whether ``url``'s query carries a credential (a signature, token or key parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.query:
        return False
    if _is_sas_host(parts.hostname or ""):
        return True
    return any(
        sep and _SENSITIVE_PARAM.match(name)
        for name, sep, _ in (pair.partition("=") for pair in parts.query.split("&"))
    )


def _redact_pair(pair: str) -> str:
    name, sep, _ = pair.partition("=")
    if sep and _SENSITIVE_PARAM.match(name):
        return f"{name}={REDACTED}"
    return pair


def _redact_registered(text: str) -> str:
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(text: str) -> str:
    """Hide every credential obstac can recognise in free text (messages, logs, reprs)."""
    text = _USERINFO_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@", text)
    text = _QUERY_PAIR_IN_TEXT.sub(
        lambda m: (
            f"{m.group(1)}{m.group(2)}={REDACTED}"
            if _SENSITIVE_PARAM.match(m.group(2))
            else m.group(0)
        ),
        text,
    )
    text = _BEARER_IN_TEXT.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _redact_registered(text)
