"""A website as typed in a relations register → an ``http(s)`` URL, or a specific refusal.

Parsed with ``urllib.parse`` and the host checked with ``idna`` (IDNA 2008 / UTS 46), never
guessed from "has a dot":

* ``http`` / ``https`` URLs are kept (scheme and host lower-cased);
* only what is unambiguous is repaired: a bare host gets ``https://`` (``www.firma.no``), and a
  certain scheme typed with a slip gets its ``://`` back (``http//…``, ``https:/…``,
  ``http:\\\\…``, ``https://https://…``);
* anything else is refused with the reason: another scheme (``mailto:``, ``ftp://``), a
  misspelt one (``htps://``), an e-mail address, a host that is not a domain name, spaces.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

import idna

__all__ = ["WebsiteError", "website"]

_SCHEME = re.compile(r"^([a-z][a-z0-9+-]*):", re.I)  # no dots: "firma.no:8080" is a host and port
_SLIPPED = re.compile(r"^(?:https?:/*)*(https?)(?::[/\\]*|//+|\\\\+)", re.I)  # http//, https:/, http:\\, doubled
_NOT_WEB = {"mailto": "an e-mail address", "tel": "a phone number", "callto": "a phone number",
            "ftp": "an FTP address", "ftps": "an FTP address", "sftp": "an SFTP address", "file": "a file path",
            "javascript": "a script", "data": "inline data", "news": "a news address", "skype": "a Skype name"}


class WebsiteError(ValueError):
    """The value cannot be a website; the message says why."""


def website(raw: str) -> str:
    """``raw`` (trimmed, not empty) as an http(s) URL; ``WebsiteError`` when it cannot be one."""
    if any(ch.isspace() for ch in raw):
        raise WebsiteError(f"{raw!r} is not a web address: it contains spaces")
    value = _repaired(raw)
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise WebsiteError(f"{raw!r} carries a user name or password; give the plain web address")
    host = parts.hostname or ""
    _check_host(raw, host)
    try:
        port = parts.port
    except ValueError as exc:
        raise WebsiteError(f"{raw!r} has an invalid port") from exc
    netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def _repaired(raw: str) -> str:
    slipped = _SLIPPED.match(raw)
    if slipped:  # the scheme is certain, only its punctuation slipped
        return f"{slipped[1].lower()}://{raw[slipped.end():]}"
    scheme = _SCHEME.match(raw)
    if scheme and (raw[scheme.end():].startswith("/") or scheme[1].lower() in _NOT_WEB):
        name = scheme[1].lower()
        if name in _NOT_WEB:
            raise WebsiteError(f"{raw!r} is {_NOT_WEB[name]} ({name}:), not a website")
        hint = " (a typo of http or https?)" if _near_http(name) else ""
        raise WebsiteError(f"{raw!r} has the scheme {name!r}{hint}; a website starts with http:// or https://")
    if "@" in raw.split("/", 1)[0]:
        raise WebsiteError(f"{raw!r} looks like an e-mail address, not a website")
    return f"https://{raw}"


def _near_http(name: str) -> bool:
    """One or two letters off ``http`` / ``https``: htps, htp, hhtp, htttps, http-s…"""
    from difflib import SequenceMatcher

    return any(SequenceMatcher(None, name, real).ratio() >= 0.75 for real in ("http", "https"))


def _check_host(raw: str, host: str) -> None:
    if not host:
        raise WebsiteError(f"{raw!r} has no host name")
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(labels) < 2:
        raise WebsiteError(f"{raw!r}: {host!r} is not a domain name (no top-level domain)")
    try:
        ascii_host = idna.encode(host.rstrip("."), uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise WebsiteError(f"{raw!r}: {host!r} is not a valid domain name ({exc})") from exc
    tld = ascii_host.rsplit(".", 1)[-1]
    if not (tld.isalpha() and len(tld) >= 2) and not tld.startswith("xn--"):
        raise WebsiteError(f"{raw!r}: {tld!r} is not a top-level domain")
