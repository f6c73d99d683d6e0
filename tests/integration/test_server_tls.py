"""TLS where it matters (issue 11): `relaydesk serve --tls self-signed` makes a certificate on
its first start, keeps it in the data directory and prints its SHA-256 fingerprint; it sends
HSTS and Secure cookies; the portal's command fetches the launcher only from this server's key
and the launcher makes the agent pin the certificate; a real agent started from it connects."""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.fixtures.agents import AGENT
from tests.fixtures.common import eventually
from tests.fixtures.server import RelaydeskServer

EMAIL = "boss@acme.test"
PASSWORD = "A chosen password 4 Acme"


def certificate_on_disk(server: RelaydeskServer) -> x509.Certificate:
    return x509.load_pem_x509_certificate((server.data_dir / "tls" / "cert.pem").read_bytes())


def certificate_sha256(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def public_key_sha256(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture
def tls_server(
    relaydesk_server_factory: Callable[..., RelaydeskServer],
) -> RelaydeskServer:
    """A first install served with a self-signed certificate."""
    server = relaydesk_server_factory(command="serve", args=["--tls", "self-signed"], start=False)
    init = server.run(
        "init", "--organisation", "Acme IT", "--email", EMAIL, "--name", "Bo", stdin=PASSWORD
    )
    assert init.returncode == 0, init.stderr
    return server.start()


@pytest.fixture
def pinned_client(tls_server: RelaydeskServer) -> Iterator[httpx.Client]:
    """Certificate authorities are no use for a self-signed certificate: each response's
    certificate is compared with the one the server printed instead."""

    def check_certificate(response: httpx.Response) -> None:
        tls = response.extensions["network_stream"].get_extra_info("ssl_object")
        der = tls.getpeercert(True)
        assert hashlib.sha256(der).hexdigest() == tls_server.tls_fingerprint

    with httpx.Client(
        base_url=tls_server.url, verify=False, event_hooks={"response": [check_certificate]}
    ) as client:
        yield client


def sign_in(client: httpx.Client) -> dict[str, str]:
    state = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert state.status_code == 200, state.text
    assert state.json()["stage"] == "complete"
    cookies = state.headers.get_list("set-cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"relaydesk_session", "relaydesk_csrf"}
    for cookie in cookies:
        assert "secure" in [a.strip().lower() for a in cookie.split(";")], cookie
    return {"x-csrf-token": client.cookies["relaydesk_csrf"]}


def test_self_signed_certificate_is_made_once_and_kept(tls_server: RelaydeskServer) -> None:
    certificate = certificate_on_disk(tls_server)
    assert tls_server.tls_fingerprint == certificate_sha256(certificate)
    assert "Made a self-signed TLS certificate" in tls_server.output()
    assert tls_server.sign_in_url == f"{tls_server.url}/login"
    key_file = tls_server.data_dir / "tls" / "key.pem"
    assert key_file.stat().st_mode & 0o077 == 0  # the private key is the server's alone
    first = (tls_server.data_dir / "tls" / "cert.pem").read_bytes()

    tls_server.stop()
    tls_server.start()
    assert (tls_server.data_dir / "tls" / "cert.pem").read_bytes() == first
    assert tls_server.tls_fingerprint == certificate_sha256(certificate)
    assert "Using the self-signed TLS certificate" in tls_server.output()


def test_hsts_secure_cookies_and_the_portal_command_pin_the_server(
    tls_server: RelaydeskServer,
    pinned_client: httpx.Client,
    tmp_path: Path,
    support_client_build: Path,  # the launcher fetches it; without it the script only refuses
) -> None:
    health = pinned_client.get("/api/v1/health")
    assert health.headers["strict-transport-security"].startswith("max-age=")
    csrf = sign_in(pinned_client)

    on = pinned_client.patch(
        "/api/v1/organisation/settings", json={"remote_support_enabled": True}, headers=csrf
    )
    assert on.status_code == 200, on.text
    issued = pinned_client.post("/api/v1/session-keys", json={"validity_minutes": 15}, headers=csrf)
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    customer = httpx.post(f"{tls_server.url}/api/v1/portal/keys", json={"key": key}, verify=False)
    assert customer.status_code == 200, customer.text
    command = customer.json()["commands"]["linux_macos"]

    # The command carries the key of the certificate on disk; curl checks it for real.
    certificate = certificate_on_disk(tls_server)
    pin = f"sha256//{public_key_sha256(certificate)}"
    assert f"--pinnedpubkey '{pin}'" in command
    fetch, run_it = command.split(" | ")
    assert run_it == f"sh -s -- --key {key}"
    fetched = subprocess.run(shlex.split(fetch), capture_output=True, text=True, timeout=60)
    assert fetched.returncode == 0, fetched.stderr
    script = fetched.stdout
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
    assert f"SERVER='{tls_server.url}'" in script
    assert f"--pin-sha256 '{tls_server.tls_fingerprint}'" in script
    assert f"--pinnedpubkey '{pin}'" in script  # the client comes from the same server only

    # Another key behind the same address: curl refuses before fetching anything.
    wrong = fetch.replace(pin, "sha256//" + base64.b64encode(b"\0" * 32).decode())
    refused = subprocess.run(shlex.split(wrong), capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and refused.stdout == ""

    # The agent as the launcher runs it: this server, this pin, this key.
    run_line = next(line for line in script.splitlines() if line.startswith("exec "))
    assert '--server "$SERVER"' in run_line
    pinned = re.search(r"--pin-sha256 '([0-9a-f]{64})'", run_line)
    assert pinned
    log = (tmp_path / "agent.log").open("wb")
    agent = subprocess.Popen(
        [AGENT, "--server", tls_server.url, "--pin-sha256", pinned.group(1), "--key", key],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def arrived() -> list[dict[str, object]]:
            assert agent.poll() is None, (tmp_path / "agent.log").read_text()
            queue = pinned_client.get("/api/v1/queue").json()
            return list(queue["personal"])

        [session] = eventually(arrived, 60, "the agent's session in the technician's queue")
        assert session["status"] == "waiting"
    finally:
        agent.kill()
        agent.wait(10)
        log.close()


def test_behind_a_tls_proxy_hsts_and_secure_cookies_without_pins(
    relaydesk_server_factory: Callable[..., RelaydeskServer],
) -> None:
    """TLS ends at a reverse proxy: relaydesk serves plain HTTP behind it, its public URL is
    https://. Browsers still get HSTS and Secure cookies; the portal's command relies on the
    proxy's certificate (from an authority), so it carries no pin."""
    public = "https://desk.example.test"
    server = relaydesk_server_factory(
        command="serve", env={"RELAYDESK_PUBLIC_URL": public}, start=False
    )
    init = server.run(
        "init", "--organisation", "Acme IT", "--email", EMAIL, "--name", "Bo", stdin=PASSWORD
    )
    assert init.returncode == 0, init.stderr
    assert f"Sign in at: {public}/login" in init.stdout
    server.start()
    assert server.sign_in_url == f"{public}/login"
    assert server.tls_fingerprint is None
    with httpx.Client(base_url=server.url) as client:
        health = client.get("/api/v1/health")
        assert health.headers["strict-transport-security"].startswith("max-age=")
        csrf = sign_in(client)
        # Secure cookies are not sent back over plain HTTP; here the proxy's part is played.
        auth = {**csrf, "cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())}
        client.patch(
            "/api/v1/organisation/settings", json={"remote_support_enabled": True}, headers=auth
        ).raise_for_status()
        key = client.post(
            "/api/v1/session-keys", json={"validity_minutes": 15}, headers=auth
        ).json()["key"]
        customer = client.post("/api/v1/portal/keys", json={"key": key})
        assert customer.status_code == 200, customer.text
        command = customer.json()["commands"]["linux_macos"]
        assert command == f"curl -fsSL '{public}/portal/agent.sh' | sh -s -- --key {key}"
        script = client.get("/portal/agent.sh").text
        assert "--pin-sha256" not in script and "--insecure" not in script


def test_unusable_certificate_options_are_explained(tmp_path: Path) -> None:
    server = RelaydeskServer(tmp_path / "data", tmp_path / "server.log")
    missing = tmp_path / "missing.pem"
    no_key = server.run("serve", "--tls-cert", str(missing))
    assert no_key.returncode != 0
    assert "--tls-cert needs --tls-key" in no_key.stderr and "Traceback" not in no_key.stderr
    unreadable = server.run("serve", "--tls-cert", str(missing), "--tls-key", str(missing))
    assert unreadable.returncode != 0
    assert f"cannot read the TLS certificate {missing}" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr
    wrong = server.run("serve", "--tls", "homemade")
    assert wrong.returncode == 2 and "invalid choice: 'homemade'" in wrong.stderr
