"""What the temporary host's window and terminal say, in the recipient's language (en, fr, de;
English for any other): his desktop's locale (LC_ALL, LC_MESSAGES, LANG). The server's refusals
arrive already worded in that language (protocol/ad_hoc_messages.py)."""

from __future__ import annotations

import os

LANGUAGES = ("en", "fr", "de")

_TEXTS: dict[str, dict[str, str]] = {
    "setting_up": {
        "en": "Setting up the support session…",
        "fr": "Préparation de la session d'assistance…",
        "de": "Die Support-Sitzung wird eingerichtet…",
    },
    "code_label": {
        "en": "Security code from your technician:",
        "fr": "Code de sécurité donné par votre technicien :",
        "de": "Sicherheitscode von Ihrem Techniker:",
    },
    "send_code": {"en": "Send code", "fr": "Envoyer le code", "de": "Code senden"},
    "end_session": {"en": "End session", "fr": "Terminer la session", "de": "Sitzung beenden"},
    "installed": {
        "en": "Support host installed",
        "fr": "Hôte d'assistance installé",
        "de": "Support-Host installiert",
    },
    "ask_code": {
        "en": "Type the security code your technician gives you.",
        "fr": "Saisissez le code de sécurité que votre technicien vous donne.",
        "de": "Geben Sie den Sicherheitscode ein, den Ihr Techniker Ihnen nennt.",
    },
    "checking": {
        "en": "Checking the code…",
        "fr": "Vérification du code…",
        "de": "Der Code wird geprüft…",
    },
    "ending": {
        "en": "Ending the session and removing the support host…",
        "fr": "Fin de la session et suppression de l'hôte d'assistance…",
        "de": "Die Sitzung wird beendet und der Support-Host entfernt…",
    },
    "may_connect": {
        "en": "Your technician can connect with the access password.",
        "fr": "Votre technicien peut se connecter avec le mot de passe d'accès.",
        "de": "Ihr Techniker kann sich mit dem Zugangspasswort verbinden.",
    },
    "over": {
        "en": "The support session is over",
        "fr": "La session d'assistance est terminée",
        "de": "Die Support-Sitzung ist beendet",
    },
    "invalid_code": {
        "en": "Invalid security code — use the latest code your technician gave you.",
        "fr": "Code de sécurité non valable — utilisez le dernier code que votre technicien vous "
        "a donné.",
        "de": "Ungültiger Sicherheitscode — verwenden Sie den neuesten Code, den Ihr Techniker "
        "Ihnen gegeben hat.",
    },
    "activated": {
        "en": "Activated: {organisation} can connect until {until}.",
        "fr": "Activé : {organisation} peut se connecter jusqu'au {until}.",
        "de": "Aktiviert: {organisation} kann sich bis {until} verbinden.",
    },
    "connected": {
        "en": "{who} connected at {at}.",
        "fr": "{who} s'est connecté à {at}.",
        "de": "{who} hat sich um {at} verbunden.",
    },
    "refused": {
        "en": "{who} tried to connect at {at} with a wrong access password; refused.",
        "fr": "{who} a tenté de se connecter à {at} avec un mauvais mot de passe d'accès ; refusé.",
        "de": "{who} hat um {at} versucht, sich mit einem falschen Zugangspasswort zu verbinden; "
        "abgelehnt.",
    },
    "disconnected": {
        "en": "The technician disconnected. The session stays open.",
        "fr": "Le technicien s'est déconnecté. La session reste ouverte.",
        "de": "Der Techniker hat die Verbindung getrennt. Die Sitzung bleibt offen.",
    },
    "online": {
        "en": "Connected to the help desk's server.",
        "fr": "Connecté au serveur du service d'assistance.",
        "de": "Mit dem Server des Helpdesks verbunden.",
    },
}


def language() -> str:
    """The recipient's language for what this host words itself (en, fr, de)."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            code = value[:2].lower()
            return code if code in LANGUAGES else "en"
    return "en"


def text(key: str, **values: object) -> str:
    return _TEXTS[key][language()].format(**values)
