"""Every audit action the server records has a sentence in each of the web app's catalogues
(web/src/i18n/{en,fr,de}.ts, keys "audit.action.<action>"), so the audit log never shows a
raw code for an action of this server. Actions are found by walking the server's syntax tree:
the literal action of each ``audit.record(...)`` call, the refusal actions (``…_refused``,
``…_failed``, ``…_throttled`` constants) and the file actions recorded through a variable."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "src" / "relaydesk" / "server"
CATALOGUES = ROOT / "web" / "src" / "i18n"
ACTION = re.compile(r"[a-z_]+\.[a-z_]+")
REFUSAL = re.compile(r"[a-z_]+\.[a-z_]+_(?:refused|failed|throttled)")


def recorded_actions() -> set[str]:
    actions: set[str] = set()
    constants: set[str] = set()
    for path in SERVER.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
                and len(node.args) >= 3
                and isinstance(node.args[2], ast.Constant)
                and isinstance(node.args[2].value, str)
            ):
                actions.add(node.args[2].value)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ACTION.fullmatch(node.value)
            ):
                constants.add(node.value)
    # Actions recorded through a variable (refusals, file changes, the password check): every
    # "area.what" constant whose area is one the literal calls use, plus the refusal shapes.
    areas = {action.split(".")[0] for action in actions}
    return actions | {
        constant
        for constant in constants
        if constant.split(".")[0] in areas or REFUSAL.fullmatch(constant)
    }


def catalogue(language: str) -> dict[str, str]:
    text = (CATALOGUES / f"{language}.ts").read_text(encoding="utf-8")
    pairs = re.findall(r'^\s*"audit\.action\.([a-z_.]+)":\s*("(?:[^"\\]|\\.)*")', text, re.M)
    return {action: json.loads(value) for action, value in pairs}


def test_the_walk_finds_the_actions_a_user_meets() -> None:
    actions = recorded_actions()
    for action in (
        "auth.signed_in",
        "session_key.generated",
        "session.accepted",
        "screen.requested",
        "screen.granted",
        "auth.signin_failed",
        "portal.key_guessing_refused",
        "file.renamed",
        "auth.password_accepted",
    ):
        assert action in actions


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_every_recorded_action_has_a_sentence(language: str) -> None:
    sentences = catalogue(language)
    missing = sorted(action for action in recorded_actions() if not sentences.get(action))
    assert missing == [], f"{language}.ts lacks audit.action.<…> for {missing}"


@pytest.mark.parametrize("language", ["fr", "de"])
def test_french_and_german_sentences_are_not_english(language: str) -> None:
    english, translated = catalogue("en"), catalogue(language)
    assert translated["session.accepted"] != english["session.accepted"]
    same = [a for a in recorded_actions() if translated[a] == english[a]]
    assert len(same) <= 2, same  # a loan word such as "Team" may stay
