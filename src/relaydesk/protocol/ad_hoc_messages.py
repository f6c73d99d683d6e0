"""What the recipient of an ad hoc session reads in his temporary host's window when something
stops him (ADH-7), in his language (en, fr, de; English for any other). The server refuses with a
code (protocol/codes.py) and this text in the language the host told it; the host can say the
same for what it finds itself (a previous session still open on this computer, an installed
agent of the organisation), so both sides word it alike."""

from __future__ import annotations

from relaydesk.protocol.codes import ErrorCode, RefusalCode

LANGUAGES = ("en", "fr", "de")

_MESSAGES: dict[str, dict[str, str]] = {
    RefusalCode.ADHOC_LINK_UNKNOWN: {
        "en": "This support link is not valid (it may have been mistyped or withdrawn). "
        "Ask your help desk for a new link.",
        "fr": "Ce lien d'assistance n'est pas valable (il a pu être mal recopié ou retiré). "
        "Demandez un nouveau lien à votre service d'assistance.",
        "de": "Dieser Support-Link ist ungültig (vielleicht falsch kopiert oder zurückgezogen). "
        "Bitten Sie Ihren Helpdesk um einen neuen Link.",
    },
    RefusalCode.ADHOC_LINK_EXPIRED: {
        "en": "This support session instance has expired: the link was not used in time. "
        "Tell your help desk; they can prepare a new session.",
        "fr": "Cette instance de session d'assistance a expiré : le lien n'a pas été utilisé à "
        "temps. Prévenez votre service d'assistance ; il peut préparer une nouvelle session.",
        "de": "Diese Support-Sitzung ist abgelaufen: Der Link wurde nicht rechtzeitig benutzt. "
        "Sagen Sie Ihrem Helpdesk Bescheid; er kann eine neue Sitzung vorbereiten.",
    },
    RefusalCode.ADHOC_SESSION_ENDED: {
        "en": "This support session instance has ended or expired. Tell your help desk if you "
        "still need help.",
        "fr": "Cette instance de session d'assistance est terminée ou a expiré. Prévenez votre "
        "service d'assistance si vous avez encore besoin d'aide.",
        "de": "Diese Support-Sitzung ist beendet oder abgelaufen. Sagen Sie Ihrem Helpdesk "
        "Bescheid, wenn Sie weiter Hilfe brauchen.",
    },
    RefusalCode.ADHOC_LINK_USED: {
        "en": "This support link was already used to set up another computer. Ask your help "
        "desk for a new link for this one.",
        "fr": "Ce lien d'assistance a déjà servi à préparer un autre ordinateur. Demandez à "
        "votre service d'assistance un nouveau lien pour celui-ci.",
        "de": "Dieser Support-Link wurde schon für einen anderen Computer benutzt. Bitten Sie "
        "Ihren Helpdesk um einen neuen Link für diesen.",
    },
    RefusalCode.ADHOC_PREVIOUS_SESSION_OPEN: {
        "en": "A previous support session is still open on this computer ({organisation}, "
        "{technician}). End it in its window, or ask that technician to end it, then try again.",
        "fr": "Une session d'assistance précédente est encore ouverte sur cet ordinateur "
        "({organisation}, {technician}). Terminez-la dans sa fenêtre ou demandez à ce "
        "technicien de la terminer, puis réessayez.",
        "de": "Auf diesem Computer ist noch eine frühere Support-Sitzung offen ({organisation}, "
        "{technician}). Beenden Sie sie in ihrem Fenster oder bitten Sie diesen Techniker, sie "
        "zu beenden, und versuchen Sie es dann erneut.",
    },
    RefusalCode.ADHOC_PERMANENT_AGENT: {
        "en": "{organisation} already has a permanent agent installed on this computer: your "
        "help desk can reach it from its device list, no temporary session is needed.",
        "fr": "{organisation} a déjà un agent permanent installé sur cet ordinateur : votre "
        "service d'assistance peut le joindre depuis sa liste d'appareils, aucune session "
        "temporaire n'est nécessaire.",
        "de": "{organisation} hat auf diesem Computer bereits einen dauerhaften Agenten "
        "installiert: Ihr Helpdesk erreicht ihn über seine Geräteliste, eine temporäre Sitzung "
        "ist nicht nötig.",
    },
    ErrorCode.ADHOC_CODE_INVALID: {
        "en": "Invalid security code. Use the latest code your technician gave you.",
        "fr": "Code de sécurité non valable. Utilisez le dernier code que votre technicien vous "
        "a donné.",
        "de": "Ungültiger Sicherheitscode. Verwenden Sie den neuesten Code, den Ihr Techniker "
        "Ihnen gegeben hat.",
    },
    RefusalCode.TOO_MANY_ATTEMPTS: {
        "en": "Too many wrong security codes. Wait {seconds} seconds, then type the latest code "
        "your technician gave you.",
        "fr": "Trop de codes de sécurité erronés. Attendez {seconds} secondes, puis saisissez "
        "le dernier code que votre technicien vous a donné.",
        "de": "Zu viele falsche Sicherheitscodes. Warten Sie {seconds} Sekunden und geben Sie "
        "dann den neuesten Code Ihres Technikers ein.",
    },
}

CODES = frozenset(_MESSAGES)


def language_of(locale: str) -> str:
    """'fr_FR.UTF-8', 'de-DE', 'fr' → 'fr', 'de'; anything else → 'en'."""
    short = locale.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
    return short if short in LANGUAGES else "en"


def recipient_message(code: str, language: str, **values: object) -> str:
    """The sentence for `code` in `language` (a locale is fine), with its values filled in."""
    texts = _MESSAGES[code]
    return texts[language_of(language)].format(**values)
