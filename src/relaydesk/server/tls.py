"""The server's own TLS certificate: a self-signed one made on first start and kept in the data
directory, and the fingerprints agents and launchers pin it by."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

# cryptography's X.509 and serialisation modules are imported where a certificate is read or
# made, not with this module: the API routes use Pins, and the serving process without TLS
# must not carry them (tests/unit/test_server_footprint.py).

SELF_SIGNED_FOLDER = "tls"
SELF_SIGNED_YEARS = 10


@dataclass(frozen=True)
class Pins:
    """How a client recognises this server's certificate without a certificate authority."""

    # SHA-256 of the certificate (DER), lowercase hex: the agent's --pin-sha256.
    certificate_sha256: str
    # SHA-256 of the public key (SubjectPublicKeyInfo), base64: curl's --pinnedpubkey sha256//…
    public_key_sha256: str

    @property
    def curl_pin(self) -> str:
        return f"sha256//{self.public_key_sha256}"


class CertificateUnreadable(Exception):
    """The configured certificate file is missing or not a PEM certificate."""


def pins_of(certificate_file: Path) -> Pins:
    """The pins of the first certificate in a PEM file (the server's own, before any chain)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificate = x509.load_pem_x509_certificate(certificate_file.read_bytes())
    except (OSError, ValueError) as error:
        raise CertificateUnreadable(
            f"cannot read the TLS certificate {certificate_file}: {error}"
        ) from error
    der = certificate.public_bytes(serialization.Encoding.DER)
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Pins(
        certificate_sha256=hashlib.sha256(der).hexdigest(),
        public_key_sha256=base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"),
    )


@functools.cache
def _pins_of_file(certificate_file: Path) -> Pins:
    return pins_of(certificate_file)


def served_pins(certificate_file: Path | None, pin: bool) -> Pins | None:
    """The pins the portal hands out: those of the certificate this process serves (read once),
    none when it serves plain HTTP (TLS ends at a proxy) or pinning is turned off."""
    if certificate_file is None or not pin:
        return None
    return _pins_of_file(certificate_file)


def _subject_names(names: list[str]) -> list[x509.GeneralName]:
    from cryptography import x509

    result: list[x509.GeneralName] = []
    seen: set[str] = set()
    for name in ["localhost", "127.0.0.1", "::1", socket.gethostname(), *names]:
        name = name.strip().strip("[]")
        if not name or name in seen or name in ("0.0.0.0", "::"):
            continue
        seen.add(name)
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Writes beside the target and renames, so a crash never leaves half a key behind."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def self_signed(data_dir: Path, names: list[str]) -> tuple[Path, Path, bool]:
    """The self-signed certificate and key in `<data_dir>/tls/`: made on the first call, the
    same files afterwards (agents keep recognising the server). Returns (certificate, key,
    whether it was made now). `names` are host names or addresses to cover besides localhost."""
    folder = data_dir / SELF_SIGNED_FOLDER
    certificate_file, key_file = folder / "cert.pem", folder / "key.pem"
    if certificate_file.exists() and key_file.exists():
        return certificate_file, key_file, False
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relaydesk (self-signed)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365 * SELF_SIGNED_YEARS))
        .add_extension(x509.SubjectAlternativeName(_subject_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    _write_private(certificate_file, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return certificate_file, key_file, True
