"""Password hashing (argon2id) and the account password policy."""

from __future__ import annotations

import functools
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_ACCOUNT_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isupper() for c in candidate):
            return candidate


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown e-mails against, so that they cost as much time as wrong
    passwords. Made at the first use, not at import: an argon2 hash is a quarter of a CPU-second
    and 64 MiB, on the way of every server start (issue 13: 10,000 agents wait for it)."""
    return hash_password(secrets.token_urlsafe(16))
