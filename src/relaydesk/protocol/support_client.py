"""What the downloaded support client knows without being told: the server that served it, the
certificate pin, and the session key.

The server appends its address and pin to the executable it serves (a trailer after the
executable's own bytes, which its loader ignores): one file per server, the same for every
customer, so its SHA-256 can be shown on the page. The session key is never in the file: the
portal page names the download `relaydesk-support-<KEY>.bin`, and the client reads its own file
name (as BeyondTrust and LogMeIn clients do). Both are parsed here, without I/O."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, ValidationError

MAGIC = b"RELAYDESK-CLIENT-CONFIG-1"
LENGTH_DIGITS = 8
# The trailer is read back from at most this many bytes at the end of the file.
TAIL_BYTES = 4096
FILE_NAME_PREFIX = "relaydesk-support-"
# `relaydesk-support-ABCD-EFGH-JKMN.bin`, also as browsers rename a second download of it
# (`… (1).bin`, `…(1).bin`) and without its extension.
KEY_IN_FILE_NAME = re.compile(
    r"^relaydesk-support-(?P<key>[A-Z0-9]{4}(?:-?[A-Z0-9]{4}){0,7})(?: ?\(\d+\))?(?:\.bin)?$"
)


class ClientConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    server: str
    pin_sha256: str | None = None


def trailer(config: ClientConfig) -> bytes:
    body = json.dumps(config.model_dump(), separators=(",", ":")).encode()
    return b"\n" + body + str(len(body)).zfill(LENGTH_DIGITS).encode() + MAGIC


def config_from_tail(tail: bytes) -> ClientConfig | None:
    """The configuration at the end of a file's last bytes; None when there is none or it is not
    one of ours (an executable built but never served)."""
    if not tail.endswith(MAGIC):
        return None
    end = len(tail) - len(MAGIC)
    digits = tail[end - LENGTH_DIGITS : end]
    if not digits.isdigit():
        return None
    length = int(digits)
    start = end - LENGTH_DIGITS - length
    if start < 0:
        return None
    try:
        return ClientConfig.model_validate_json(tail[start : end - LENGTH_DIGITS])
    except ValidationError:
        return None


def download_name(key: str) -> str:
    return f"{FILE_NAME_PREFIX}{key}.bin"


def key_from_file_name(name: str) -> str | None:
    found = KEY_IN_FILE_NAME.match(name)
    return found["key"] if found else None
