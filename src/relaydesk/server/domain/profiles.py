"""What a user shows of himself to customers (GOV-6) and his UI language (GOV-11)."""

from __future__ import annotations

import base64
import binascii
import re

from relaydesk.server.domain.errors import Invalid

LANGUAGES = ("en", "fr", "de")
MAX_PICTURE_BYTES = 256 * 1024
_PICTURE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise Invalid(
            "unsupported_language",
            f"Language '{language}' is not available; choose one of {', '.join(LANGUAGES)}.",
            field="language",
        )
    return language


def check_verified_domain(domain: str) -> str:
    domain = domain.strip().lower()
    if domain and not _DOMAIN.match(domain):
        raise Invalid(
            "invalid_domain",
            f"'{domain}' is not a domain name (write e.g. support.example.com).",
            field="verified_domain",
        )
    return domain


def check_picture(picture: str | None) -> str | None:
    """A profile picture arrives as a data: URL of a PNG, JPEG, GIF or WebP image."""
    if picture is None or picture == "":
        return None
    match = re.fullmatch(r"data:(image/[a-z]+);base64,([A-Za-z0-9+/=\s]+)", picture)
    if match is None or match.group(1) not in _PICTURE_MAGIC:
        raise Invalid(
            "invalid_picture",
            "The picture must be a PNG, JPEG, GIF or WebP image.",
            field="picture",
        )
    try:
        raw = base64.b64decode(match.group(2), validate=False)
    except binascii.Error:
        raise Invalid("invalid_picture", "The picture data is damaged.", field="picture") from None
    if len(raw) > MAX_PICTURE_BYTES:
        raise Invalid(
            "picture_too_large",
            f"The picture may be at most {MAX_PICTURE_BYTES // 1024} KiB.",
            field="picture",
        )
    if not raw.startswith(_PICTURE_MAGIC[match.group(1)]):
        raise Invalid(
            "invalid_picture",
            f"The file is not really a {match.group(1)} image.",
            field="picture",
        )
    return f"data:{match.group(1)};base64,{base64.b64encode(raw).decode()}"
