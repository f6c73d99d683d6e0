"""The agent pins the server's certificate (SEC-1): a self-signed certificate is accepted when
its fingerprint matches, and anything else is refused before a byte of the protocol is sent."""

from __future__ import annotations

import datetime
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fixtures.common import free_port

BIN = Path(sys.executable).parent


def self_signed(folder: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relaydesk.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    return cert_path, key_path, fingerprint


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    cert, key, fingerprint = self_signed(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYDESK_")}
    env.update(
        RELAYDESK_DATA_DIR=str(tmp_path / "data"),
        RELAYDESK_TLS_CERTFILE=str(cert),
        RELAYDESK_TLS_KEYFILE=str(key),
    )
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "relaydesk"), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v1/health", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail((tmp_path / "server.log").read_text())
        yield url, fingerprint
    finally:
        process.terminate()
        process.wait(10)


def run_agent(url: str, pin: str) -> tuple[int, str]:
    result = subprocess.run(
        [
            str(BIN / "relaydesk-agent"),
            "--server",
            url,
            "--key",
            "AAAA-BBBB-CCCC",
            "--pin-sha256",
            pin,
            "--give-up-after",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout + result.stderr


def test_matching_fingerprint_connects_over_tls(tls_server: tuple[str, str]) -> None:
    url, fingerprint = tls_server
    code, output = run_agent(url, fingerprint)
    # It got through TLS and the handshake: the server judged the (unknown) key.
    assert code == 2, output
    assert "session key is not known" in output


def test_other_certificate_is_refused(tls_server: tuple[str, str]) -> None:
    url, fingerprint = tls_server
    wrong = hashlib.sha256(b"someone else's certificate").hexdigest()
    code, output = run_agent(url, wrong)
    assert code == 4, output
    assert "does not match the pinned fingerprint" in output
