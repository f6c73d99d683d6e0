"""High-entropy secrets: generated here, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "rdk_"


def new_secret_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
