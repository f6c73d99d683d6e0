"""The agent pins the server's certificate (SEC-1; issue 11, defect 17): a self-signed certificate
is accepted when its fingerprint matches, and a server showing any other certificate is left
right after the TLS handshake, before the first byte of the HTTP request, on the control channel
and on tunnels alike, so an impostor never sees a session key or a tunnel token."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fixtures.agents import AGENT
from tests.fixtures.common import eventually
from tests.fixtures.technician import Technician


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


class Impostor:
    """A TLS listener with a certificate of its own that records every byte it receives after
    the handshake, per connection (what an attacker on the path would get)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        cert, key, self.fingerprint = self_signed(folder)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.handshakes = 0
        self.received: list[bytes] = []  # one entry per connection, once it is over
        self._lock = threading.Lock()

    def serve(self, conn: socket.socket) -> None:
        data = b""
        with contextlib.suppress(OSError):
            conn.settimeout(30)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                with self._lock:
                    self.handshakes += 1
                while chunk := tls.recv(65536):
                    data += chunk
        with self._lock:
            self.received.append(data)

    def finished(self, count: int) -> list[bytes] | None:
        with self._lock:
            return list(self.received) if len(self.received) >= count else None


class Interceptor:
    """A listener in front of the real server: passes connections through untouched until
    impersonate(), then hands new ones to the impostor; cut() drops those passed through."""

    def __init__(self, upstream_port: int, impostor: Impostor) -> None:
        self.upstream_port = upstream_port
        self.impostor = impostor
        self.impersonating = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._passed: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                if self.impersonating:
                    threading.Thread(target=self.impostor.serve, args=(conn,), daemon=True).start()
                    continue
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                self._passed += [conn, upstream]
                for a, b in ((conn, upstream), (upstream, conn)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def impersonate(self) -> None:
        self.impersonating = True

    def cut(self) -> None:
        for sock in self._passed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def tls_server(relaydesk_server_factory: Callable[..., Any]) -> Any:
    server = relaydesk_server_factory(args=["--tls", "self-signed"])
    assert server.url.startswith("https://") and server.tls_fingerprint
    return server


@pytest.fixture
def impostor(tmp_path: Path) -> Impostor:
    return Impostor(tmp_path / "impostor")


def run_agent(url: str, pin: str, key: str = "AAAA-BBBB-CCCC") -> tuple[int, str]:
    result = subprocess.run(
        [AGENT, "--server", url, "--key", key, "--pin-sha256", pin, "--give-up-after", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout + result.stderr


def test_matching_fingerprint_connects_over_tls(tls_server: Any) -> None:
    code, output = run_agent(tls_server.url, tls_server.tls_fingerprint)
    # It got through TLS and the handshake: the server judged the (unknown) key.
    assert code == 2, output
    assert "session key is not known" in output


def test_other_certificate_is_refused(tls_server: Any) -> None:
    wrong = hashlib.sha256(b"someone else's certificate").hexdigest()
    code, output = run_agent(tls_server.url, wrong)
    assert code == 4, output
    assert "does not match the pinned fingerprint" in output


def test_an_impostor_never_receives_a_byte_of_the_control_channel(
    tls_server: Any, impostor: Impostor
) -> None:
    interceptor = Interceptor(tls_server.port, impostor)
    interceptor.impersonate()
    try:
        code, output = run_agent(
            f"https://127.0.0.1:{interceptor.port}", tls_server.tls_fingerprint, "KEYS-ARE-SECRET"
        )
    finally:
        interceptor.close()
    assert code == 4, output
    assert "does not match the pinned fingerprint" in output
    [received] = eventually(lambda: impostor.finished(1), what="the impostor's connection ends")
    assert impostor.handshakes == 1  # the agent did complete TLS with it, then left
    assert received == b""  # not even the upgrade request, let alone the key


def test_an_impostor_on_a_tunnel_never_receives_its_token(
    tls_server: Any, impostor: Impostor
) -> None:
    technician = Technician(tls_server)
    technician.http = httpx.Client(base_url=tls_server.url, timeout=30, verify=False)
    technician.sign_in_first_time()
    interceptor = Interceptor(tls_server.port, impostor)
    agent = subprocess.Popen(
        [
            AGENT,
            "--server",
            f"https://127.0.0.1:{interceptor.port}",
            "--key",
            technician.new_key(),
            "--pin-sha256",
            tls_server.tls_fingerprint,
            "--give-up-after",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The control channel reached the real server through the interceptor.
        sid = technician.wait_for_waiting_session()["id"]
        assert technician.post(f"/api/v1/sessions/{sid}/accept").status_code == 200

        # From now on the path belongs to an impostor: the tunnel the technician opens is
        # answered by it.
        interceptor.impersonate()
        opened = technician.post(f"/api/v1/sessions/{sid}/files/tunnel")
        assert opened.status_code in (200, 201), opened.text
        [tunnel] = eventually(lambda: impostor.finished(1), what="the agent's tunnel attempt")
        assert tunnel == b""

        # The control channel is cut too: coming back, the agent meets the impostor and exits.
        interceptor.cut()
        output, _ = agent.communicate(timeout=60)
    finally:
        agent.kill()
        interceptor.close()
    assert agent.returncode == 4, output
    assert "Tool not opened: files." in output
    received = eventually(lambda: impostor.finished(2), what="the reconnection attempt")
    assert impostor.handshakes >= 2
    assert received == [b""] * len(received)
