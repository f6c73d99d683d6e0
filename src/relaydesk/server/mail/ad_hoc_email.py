"""The e-mail that invites the recipient of an ad hoc session to install the temporary host
(ADH-2), in the technician's language (his profile's: en, fr or de; English for any other)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AdHocEmail:
    subject: str
    body: str


_SUBJECT = {
    "en": "{technician} ({company}) invites you to a remote support session",
    "fr": "{technician} ({company}) vous invite à une session d'assistance à distance",
    "de": "{technician} ({company}) lädt Sie zu einer Fernwartungssitzung ein",
}
_BODY = {
    "en": (
        "Hello,\n\n"
        "{technician} of {company} would like to help you with your computer for the next "
        "day.\n\n"
        "1. Open this link and download the support program:\n{link}\n\n"
        "2. Run the downloaded program. It asks for administrator rights: it installs itself "
        "temporarily, for the time of the support session only.\n\n"
        "3. When its window asks for a security code, type the code {technician} gives you "
        "(by telephone or chat).\n\n"
        "Your technician can then connect to your computer for 24 hours, each time with a "
        "password only he knows. You can end the session at any time in the program's window; "
        "at the end it removes itself.\n\n"
        "The link works until {expires} UTC.\n"
    ),
    "fr": (
        "Bonjour,\n\n"
        "{technician} de {company} souhaite vous aider avec votre ordinateur pendant la "
        "prochaine journée.\n\n"
        "1. Ouvrez ce lien et téléchargez le programme d'assistance :\n{link}\n\n"
        "2. Lancez le programme téléchargé. Il demande les droits d'administrateur : il "
        "s'installe temporairement, pour la durée de la session d'assistance seulement.\n\n"
        "3. Quand sa fenêtre demande un code de sécurité, saisissez le code que {technician} "
        "vous donne (par téléphone ou par chat).\n\n"
        "Votre technicien pourra ensuite se connecter à votre ordinateur pendant 24 heures, "
        "chaque fois avec un mot de passe que lui seul connaît. Vous pouvez terminer la session "
        "à tout moment dans la fenêtre du programme ; à la fin, il se désinstalle.\n\n"
        "Le lien fonctionne jusqu'au {expires} UTC.\n"
    ),
    "de": (
        "Guten Tag,\n\n"
        "{technician} von {company} möchte Ihnen in den nächsten 24 Stunden bei Ihrem Computer "
        "helfen.\n\n"
        "1. Öffnen Sie diesen Link und laden Sie das Support-Programm herunter:\n{link}\n\n"
        "2. Starten Sie das heruntergeladene Programm. Es fragt nach Administratorrechten: Es "
        "installiert sich vorübergehend, nur für die Dauer der Support-Sitzung.\n\n"
        "3. Wenn sein Fenster nach einem Sicherheitscode fragt, geben Sie den Code ein, den "
        "{technician} Ihnen nennt (per Telefon oder Chat).\n\n"
        "Ihr Techniker kann sich dann 24 Stunden lang mit Ihrem Computer verbinden, jedes Mal "
        "mit einem Passwort, das nur er kennt. Sie können die Sitzung jederzeit im Fenster des "
        "Programms beenden; am Ende entfernt es sich selbst.\n\n"
        "Der Link gilt bis {expires} UTC.\n"
    ),
}
_EXPIRES = {"en": "%Y-%m-%d %H:%M", "fr": "%d/%m/%Y %H:%M", "de": "%d.%m.%Y %H:%M"}


def ad_hoc_email(
    language: str, *, technician: str, company: str, link: str, expires_at: datetime
) -> AdHocEmail:
    lang = language if language in _BODY else "en"
    return AdHocEmail(
        subject=_SUBJECT[lang].format(technician=technician, company=company),
        body=_BODY[lang].format(
            technician=technician,
            company=company,
            link=link,
            expires=f"{expires_at:{_EXPIRES[lang]}}",
        ),
    )
