"""Sending e-mail: SMTP in production, an outbox folder for the demo."""
