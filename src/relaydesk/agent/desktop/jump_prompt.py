"""The jump prompt (UNA-6): when a technician jumps to an installed device whose policy asks, the
person logged in on it answers Allow or Deny in a window on his desktop, within the policy's
seconds. The root service runs this window as a program of its own on the user's display
(`ask()`: as that user when the service is root and the desktop is someone else's), so that a
window that hangs or is killed never holds the agent; it prints its answer on its last line:
allowed, denied or no_answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tkinter as tk
from tkinter import ttk

from relaydesk.agent.graphical_session import Desktop

TITLE = "relaydesk: remote access request"  # the English window's title (tests find it)
APP_NAME = "relaydesk-jump-prompt"
FONT = ("Noto Sans", 11)
BIG_FONT = ("Noto Sans", 13, "bold")
WIDTH, HEIGHT = 520, 230
# The buttons' centres, as fractions of the window (a fixed layout: the test rig clicks them).
ALLOW_AT = (0.78, 0.84)
DENY_AT = (0.48, 0.84)
ANSWERS = ("allowed", "denied", "no_answer")


# The window's words in the person's language (his session's LANG): en, fr, de.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": TITLE,
        "heading": "Remote access request",
        "question": "{who} wants to connect to this computer to work on it remotely.",
        "allowed": "Without an answer within {seconds} s, the connection is allowed.",
        "refused": "Without an answer within {seconds} s, the connection is refused.",
        "allow": "Allow",
        "deny": "Deny",
    },
    "fr": {
        "title": "relaydesk : demande d'accès à distance",
        "heading": "Demande d'accès à distance",
        "question": "{who} souhaite se connecter à cet ordinateur pour y travailler à distance.",
        "allowed": "Sans réponse d'ici {seconds} s, la connexion est autorisée.",
        "refused": "Sans réponse d'ici {seconds} s, la connexion est refusée.",
        "allow": "Autoriser",
        "deny": "Refuser",
    },
    "de": {
        "title": "relaydesk: Anfrage für Fernzugriff",
        "heading": "Anfrage für Fernzugriff",
        "question": "{who} möchte sich mit diesem Computer verbinden, um aus der Ferne daran "
        "zu arbeiten.",
        "allowed": "Ohne Antwort innerhalb von {seconds} s wird die Verbindung erlaubt.",
        "refused": "Ohne Antwort innerhalb von {seconds} s wird die Verbindung abgelehnt.",
        "allow": "Erlauben",
        "deny": "Ablehnen",
    },
}


def words(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS["en"])


def question(technician: str, company: str, language: str = "en") -> str:
    who = f"{technician} ({company})" if company else technician
    return words(language)["question"].format(who=who)


def countdown(seconds: int, when_nobody_answers: str, language: str = "en") -> str:
    then = "allowed" if when_nobody_answers == "allow" else "refused"
    return words(language)[then].format(seconds=seconds)


def show(
    technician: str, company: str, seconds: int, when_nobody_answers: str, language: str = "en"
) -> str:
    """The window itself (on $DISPLAY): the answer, or no_answer when the time runs out or the
    window is closed."""
    root = tk.Tk(className="RelaydeskJumpPrompt")
    root.tk.call("tk", "appname", APP_NAME)
    text = words(language)
    root.title(text["title"])
    x = max(0, (root.winfo_screenwidth() - WIDTH) // 2)
    y = max(0, (root.winfo_screenheight() - HEIGHT) // 3)
    root.geometry(f"{WIDTH}x{HEIGHT}+{x}+{y}")
    root.resizable(False, False)
    root.attributes("-topmost", True)
    root.option_add("*Font", FONT)
    answer = {"value": "no_answer"}
    left = {"seconds": seconds}

    def done(value: str) -> None:
        answer["value"] = value
        root.destroy()

    frame = ttk.Frame(root, padding=16, name="main")
    frame.place(relx=0, rely=0, relwidth=1, relheight=1)
    ttk.Label(frame, text=text["heading"], font=BIG_FONT, name="title").place(relx=0.0, rely=0.0)
    ttk.Label(
        frame,
        text=question(technician, company, language),
        wraplength=WIDTH - 40,
        justify="left",
        name="question",
    ).place(relx=0.0, rely=0.18)
    timer = ttk.Label(frame, text=countdown(seconds, when_nobody_answers, language), name="timer")
    timer.place(relx=0.0, rely=0.48)
    ttk.Button(frame, text=text["deny"], command=lambda: done("denied"), name="deny").place(
        relx=DENY_AT[0], rely=DENY_AT[1], anchor="center", width=120, height=36
    )
    ttk.Button(frame, text=text["allow"], command=lambda: done("allowed"), name="allow").place(
        relx=ALLOW_AT[0], rely=ALLOW_AT[1], anchor="center", width=120, height=36
    )
    root.protocol("WM_DELETE_WINDOW", lambda: done("no_answer"))

    def tick() -> None:
        left["seconds"] -= 1
        if left["seconds"] <= 0:
            done("no_answer")
            return
        timer.configure(text=countdown(left["seconds"], when_nobody_answers, language))
        root.after(1000, tick)

    root.after(1000, tick)
    root.mainloop()
    return answer["value"]


def main(argv: list[str]) -> int:
    """`relaydesk-agent --jump-prompt JSON` (or `python -m relaydesk.agent.desktop.jump_prompt
    JSON`): show the window, print the answer."""
    try:
        asked = json.loads(argv[0])
        value = show(
            str(asked["technician"]),
            str(asked.get("company", "")),
            int(asked["seconds"]),
            str(asked.get("when_nobody_answers", "deny")),
            str(asked.get("language", "en")),
        )
    except (IndexError, KeyError, ValueError, tk.TclError) as error:
        print(f"no window: {error}", file=sys.stderr)
        value = "no_answer"
    print(value, flush=True)
    return 0


def _command(asked: dict[str, object]) -> list[str]:
    payload = json.dumps(asked)
    if getattr(sys, "frozen", False):  # the self-contained executable: its own hidden option
        return [sys.executable, "--jump-prompt", payload]
    return [sys.executable, "-m", "relaydesk.agent.desktop.jump_prompt", payload]


def _as_user(desktop: Desktop) -> dict[str, object]:
    """A root service shows the window as the desktop's owner (his X authority, his files)."""
    if os.geteuid() != 0 or desktop.uid in (None, 0):
        return {}
    return {"user": desktop.uid, "group": desktop.uid, "extra_groups": []}


async def ask(
    desktop: Desktop,
    technician: str,
    company: str,
    seconds: int,
    when_nobody_answers: str,
) -> str:
    """Show the prompt on the desktop and wait for the answer (allowed, denied, no_answer)."""
    asked = {
        "technician": technician,
        "company": company,
        "seconds": seconds,
        "when_nobody_answers": when_nobody_answers,
        "language": desktop.language,
    }
    try:
        process = await asyncio.create_subprocess_exec(
            *_command(asked),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=desktop.environment(),
            **_as_user(desktop),  # type: ignore[arg-type]
        )
    except OSError:
        return "no_answer"
    try:
        out, _ = await asyncio.wait_for(process.communicate(), seconds + 15)
    except TimeoutError:
        process.kill()
        return "no_answer"
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        raise
    lines = out.decode(errors="replace").split()
    return lines[-1] if lines and lines[-1] in ANSWERS else "no_answer"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
