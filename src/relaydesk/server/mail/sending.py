"""Mailers. Both build the same message; one hands it to an SMTP server, the other writes it to a
folder where a person can open it (`relaydesk demo`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class MailFailed(Exception):
    """The mail server refused the message or broke off."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(body)
    return message


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 15,
    ) -> None:
        self.host, self.port = host, port
        self.starttls = starttls
        self.username, self.password = username, password
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        """Raises OSError (unreachable) or MailFailed."""
        import aiosmtplib  # only where mail is sent: a server without SMTP never loads it

        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                start_tls=self.starttls,
                username=self.username,
                password=self.password,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPException as error:
            raise MailFailed(str(error)) from error
        log.info("mail sent to %s through %s:%s", message["To"], self.host, self.port)


class OutboxMailer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}.eml"
        path.write_bytes(bytes(message))
        log.info("mail to %s written to %s", message["To"], path)
