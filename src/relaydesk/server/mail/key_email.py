"""The e-mail that gives a customer his session key, in the technician's language (his
profile's: en, fr or de; English for any other)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class KeyEmail:
    subject: str
    body: str


_SUBJECT = {
    "en": "Your support session with {name}",
    "fr": "Votre session d'assistance avec {name}",
    "de": "Ihre Support-Sitzung mit {name}",
}
_BODY = {
    "en": (
        "Hello,\n\n{who} is ready to help you with your computer.\n\n"
        "Open this link to start the support session:\n{url}\n\n"
        "Or go to {portal} and type the session key {key}.\n"
        "The key is valid until {expires} UTC and works once.\n"
    ),
    "fr": (
        "Bonjour,\n\n{who} est prêt à vous aider avec votre ordinateur.\n\n"
        "Ouvrez ce lien pour commencer la session d'assistance :\n{url}\n\n"
        "Ou allez sur {portal} et saisissez la clé de session {key}.\n"
        "La clé est valable jusqu'au {expires} UTC et ne sert qu'une fois.\n"
    ),
    "de": (
        "Guten Tag,\n\n{who} hilft Ihnen gern bei Ihrem Computer.\n\n"
        "Öffnen Sie diesen Link, um die Support-Sitzung zu beginnen:\n{url}\n\n"
        "Oder gehen Sie auf {portal} und geben Sie den Sitzungsschlüssel {key} ein.\n"
        "Der Schlüssel gilt bis {expires} UTC und nur einmal.\n"
    ),
}
_EXPIRES = {"en": "%Y-%m-%d %H:%M", "fr": "%d/%m/%Y %H:%M", "de": "%d.%m.%Y %H:%M"}


def key_email(
    language: str,
    *,
    technician: str,
    who: str,
    url: str,
    portal: str,
    key: str,
    expires_at: datetime,
) -> KeyEmail:
    """`who`: the technician as introduced (name, and title and company when he has them)."""
    lang = language if language in _BODY else "en"
    return KeyEmail(
        subject=_SUBJECT[lang].format(name=technician),
        body=_BODY[lang].format(
            who=who, url=url, portal=portal, key=key, expires=f"{expires_at:{_EXPIRES[lang]}}"
        ),
    )
