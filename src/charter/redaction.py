"""Keeping credentials out of what Charter prints and keeps.

A store URL such as ``s3://AKIA...:secret@bucket/charter`` or an Azure SAS URL
(``...?sv=...&sig=...``) carries credentials. Charter prints URLs in messages and keeps some in
the registry and its audit trail, which is permanent by design, so every URL is passed through
:func:`redact_url` first: the userinfo and the values of secret-looking query parameters become
``***``. :func:`strip_secrets` removes them instead, for a URL that is kept to be used again
(the credentials then come from the environment, as fsspec's filesystems read them).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

#: Query parameters holding credentials (matched case-insensitively, anywhere in the name).
_SECRET_PARAM = re.compile(
    r"token|secret|passw|pwd|key|sig|credential|auth|session|signature|access|sas|private",
    re.IGNORECASE,
)


def _is_secret(name: str) -> bool:
    return bool(_SECRET_PARAM.search(name))


def _rewrite(url: str, replacement: str | None) -> str:
    if "://" not in url and "?" not in url and "@" not in url:
        return url  # a plain path
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK if replacement is not None else ""
    netloc = parts.netloc
    if "@" in netloc:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{replacement}@{host}" if replacement is not None else host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [
            (k, replacement if _is_secret(k) else v)
            for k, v in pairs
            if replacement is not None or not _is_secret(k)
        ]
        query = urlencode(kept, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_url(url: str) -> str:
    """``url`` with its userinfo and secret query values replaced by ``***`` (for display)."""
    return _rewrite(url, MASK)


def strip_secrets(url: str) -> str:
    """``url`` without its userinfo and secret query parameters (to keep and reuse)."""
    return _rewrite(url, None)


def has_secrets(url: str) -> bool:
    """Whether :func:`redact_url` would change ``url``."""
    return redact_url(url) != url
