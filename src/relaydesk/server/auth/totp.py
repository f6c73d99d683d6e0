"""TOTP second factor (RFC 6238), with replay protection by time step."""

from __future__ import annotations

import base64
import io
import time

import pyotp

ISSUER = "relaydesk"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """A standalone SVG document (with its namespace), usable as an image source."""
    import segno  # only when a user enrols: the serving process does not keep it otherwise

    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=4, dark="#111", light="#fff"
    )
    return buffer.getvalue().decode()


def qr_data_url(uri: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(uri).encode()).decode()


def matching_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step the code belongs to (±1 step of drift), or None.
    Steps up to last_step were used before: replays."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    moment = time.time() if now is None else now
    current = int(moment // totp.interval)
    for step in (current - 1, current, current + 1):
        if step > last_step and totp.generate_otp(step) == code:
            return step
    return None
