"""Tests of the agent as a system service: the booted container fixture."""

from tests.fixtures.systemd_container import systemd_container

__all__ = ["systemd_container"]
