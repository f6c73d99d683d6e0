"""How the installed agent finds the logged-in user's desktop for a jump
(agent/graphical_session.py): the X sockets and the environments of people's processes (a /proc
and /tmp/.X11-unix of the test's own), the agent's own DISPLAY, and nobody logged in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relaydesk.agent import graphical_session


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    proc, sockets = tmp_path / "proc", tmp_path / "X11-unix"
    proc.mkdir()
    sockets.mkdir()
    monkeypatch.setattr(graphical_session, "PROC", proc)
    monkeypatch.setattr(graphical_session, "X11_SOCKETS", sockets)
    monkeypatch.setattr(graphical_session, "_from_logind", lambda: None)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("XAUTHORITY", raising=False)
    OWNERS.clear()
    monkeypatch.setattr(graphical_session, "_uid_of", OWNERS.get)  # who owns each process
    return proc, sockets


def process(proc: Path, pid: int, uid: int, env: dict[str, str]) -> None:
    folder = proc / str(pid)
    folder.mkdir()
    (folder / "environ").write_bytes(
        b"\0".join(f"{k}={v}".encode() for k, v in env.items()) + b"\0"
    )
    OWNERS[pid] = uid


OWNERS: dict[int, int] = {}


def test_nobody_logged_in_means_no_desktop(machine: tuple[Path, Path]) -> None:
    assert graphical_session.find() is None


def test_a_persons_process_on_an_x_socket_gives_the_display_and_authority(
    machine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, sockets = machine
    (sockets / "X0").touch()
    root_env = {"DISPLAY": ":0", "XAUTHORITY": "/root/.Xauthority"}
    process(proc, 10, 0, root_env)  # root's: not a person's
    process(proc, 20, 1000, {"PATH": "/usr/bin"})  # a person, no display
    process(proc, 30, 1000, {"DISPLAY": ":0", "XAUTHORITY": "/run/user/1000/gdm/Xauthority"})
    desktop = graphical_session.find()
    assert desktop is not None
    assert (desktop.display, desktop.xauthority, desktop.uid) == (
        ":0",
        "/run/user/1000/gdm/Xauthority",
        1000,
    )
    assert desktop.environment()["DISPLAY"] == ":0"


def test_a_display_without_its_x_server_is_nobody(
    machine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, _ = machine
    process(proc, 30, 1000, {"DISPLAY": ":3", "XAUTHORITY": "/tmp/a"})
    assert graphical_session.find() is None


def test_the_agents_own_display_when_its_x_server_is_there(
    machine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, sockets = machine
    (sockets / "X7").touch()
    monkeypatch.setenv("DISPLAY", ":7")
    desktop = graphical_session.find()
    assert desktop is not None
    assert (desktop.display, desktop.xauthority, desktop.uid) == (":7", None, os.getuid())
    monkeypatch.setenv("DISPLAY", ":8")  # no such X server
    assert graphical_session.find() is None


def test_the_prompt_speaks_the_persons_language(
    machine: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from relaydesk.agent.desktop import jump_prompt

    proc, sockets = machine
    (sockets / "X0").touch()
    process(proc, 30, 1000, {"DISPLAY": ":0", "LANG": "fr_FR.UTF-8"})
    desktop = graphical_session.find()
    assert desktop is not None and desktop.language == "fr"
    assert graphical_session.language_of({"LC_ALL": "de_DE.UTF-8", "LANG": "fr_FR"}) == "de"
    assert graphical_session.language_of({"LANG": "C.UTF-8"}) == "en"
    assert jump_prompt.question("Ada", "Acme", "fr") == (
        "Ada (Acme) souhaite se connecter à cet ordinateur pour y travailler à distance."
    )
    assert jump_prompt.countdown(20, "allow", "de") == (
        "Ohne Antwort innerhalb von 20 s wird die Verbindung erlaubt."
    )
    assert all(set(words) == set(jump_prompt.TEXTS["en"]) for words in jump_prompt.TEXTS.values())
