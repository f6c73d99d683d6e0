"""The SMTP fixture receives what smtplib sends, as EmailMessage objects."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from tests.fixtures.mail import SmtpServer


def test_receives_a_message_sent_with_smtplib(smtp_server: SmtpServer) -> None:
    message = EmailMessage()
    message["From"] = "relaydesk@example.test"
    message["To"] = "Ada Lovelace <ada@example.test>"
    message["Subject"] = "Your session key: 123 456"
    message.set_content("Héllo Ada,\nyour technician is waiting.\n")

    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(message)

    [received] = smtp_server.wait_for(1)
    assert isinstance(received, EmailMessage)
    assert received["Subject"] == "Your session key: 123 456"
    assert received["To"].addresses[0].addr_spec == "ada@example.test"
    body = received.get_body(("plain",))
    assert body is not None and "Héllo Ada" in body.get_content()
    assert smtp_server.received[0].rcpt_tos == ["ada@example.test"]


def test_accepts_a_login_and_records_it(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.login("mailer", "s3cret")
        client.sendmail("a@example.test", ["b@example.test"], b"Subject: hi\r\n\r\nbody\r\n")
    smtp_server.wait_for(1)
    assert smtp_server.logins == [("mailer", "s3cret")]
    assert smtp_server.received[0].login == "mailer"
