"""Tests of the agent as a system service: the booted container and the TLS server fixtures."""

from tests.fixtures.systemd_container import systemd_container, tls_server

__all__ = ["systemd_container", "tls_server"]
