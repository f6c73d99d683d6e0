"""The web app translates the built-in roles by recognising the English the server stores
(web/src/shared/roles.ts): en.ts must say exactly what permissions.BUILTIN_ROLES says, and the
French and German catalogues must have their own words for each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from relaydesk.server.domain.permissions import BUILTIN_ROLES

CATALOGUES = Path(__file__).resolve().parents[2] / "web" / "src" / "i18n"


def catalogue(language: str) -> dict[str, str]:
    text = (CATALOGUES / f"{language}.ts").read_text(encoding="utf-8")
    pairs = re.findall(
        r'^\s*"(role\.[a-z_]+\.(?:name|description))":\s*("(?:[^"\\]|\\.)*")', text, re.M
    )
    return {key: json.loads(value) for key, value in pairs}


def test_english_catalogue_says_what_the_server_stores() -> None:
    english = catalogue("en")
    for key, (name, description, _) in BUILTIN_ROLES.items():
        assert english[f"role.{key}.name"] == name
        assert english[f"role.{key}.description"] == description


@pytest.mark.parametrize("language", ["fr", "de"])
def test_each_built_in_role_is_translated(language: str) -> None:
    english, translated = catalogue("en"), catalogue(language)
    for key in BUILTIN_ROLES:
        for part in ("name", "description"):
            assert translated[f"role.{key}.{part}"], (language, key, part)
    assert translated["role.helpdesk_operator.name"] != english["role.helpdesk_operator.name"]
    assert translated["role.viewer.description"] != english["role.viewer.description"]
