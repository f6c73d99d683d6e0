"""Ed25519 device identity: each agent has its own key pair; the server keeps the public key and
asks the agent to sign a fresh nonce on every connection."""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CONTEXT = b"relaydesk-agent-proof-v1:"


class DeviceKey:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, raw: bytes) -> DeviceKey:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        return self._private.private_bytes_raw()

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self._private.public_key().public_bytes_raw()).decode()

    def sign(self, nonce_b64: str) -> str:
        return base64.b64encode(self._private.sign(CONTEXT + nonce_b64.encode())).decode()


def new_nonce() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def valid_public_key(public_key_b64: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
    except ValueError:
        return False
    return True


def verify(public_key_b64: str, nonce_b64: str, signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), CONTEXT + nonce_b64.encode())
    except (ValueError, InvalidSignature):
        return False
    return True
