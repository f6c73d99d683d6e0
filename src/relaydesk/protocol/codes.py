"""Codes of the control channel's `refused` and `error` messages that both the server and the
agent act on, spelled once. The server may send other codes (a DomainError's) that the agent only
shows; these are the ones either side compares against."""

from __future__ import annotations

from enum import StrEnum


class RefusalCode(StrEnum):
    """Why the server will not serve an agent (a `refused` message; the connection closes)."""

    # The key the agent presented (the agent exits with its key-refused status).
    SESSION_KEY_UNKNOWN = "session_key_unknown"
    SESSION_KEY_EXPIRED = "session_key_expired"
    SESSION_KEY_USED = "session_key_used"
    SESSION_KEY_TAKEN = "session_key_taken"
    SESSION_KEY_REVOKED = "session_key_revoked"
    # The installer token an installed agent enrolled with (UNA-2).
    INSTALLER_UNKNOWN = "installer_unknown"
    INSTALLER_EXPIRED = "installer_expired"
    INSTALLER_REVOKED = "installer_revoked"
    INSTALLER_CAP_REACHED = "installer_cap_reached"
    # An installed device coming back that the server does not know (deleted, or another key).
    DEVICE_UNKNOWN = "device_unknown"
    # The device and session it came back to.
    SESSION_UNKNOWN = "session_unknown"
    SESSION_ENDED = "session_ended"
    BAD_PROOF = "bad_proof"
    BAD_PUBLIC_KEY = "bad_public_key"
    PROTOCOL_MISMATCH = "protocol_mismatch"
    UNEXPECTED_MESSAGE = "unexpected_message"
    REMOTE_SUPPORT_DISABLED = "remote_support_disabled"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    # A temporary host's deployment link (ad hoc support, ADH-7; protocol/ad_hoc_messages.py
    # says each to the recipient in his language).
    ADHOC_LINK_UNKNOWN = "adhoc_link_unknown"
    ADHOC_LINK_EXPIRED = "adhoc_link_expired"
    ADHOC_SESSION_ENDED = "adhoc_session_ended"
    ADHOC_LINK_USED = "adhoc_link_used"
    ADHOC_PREVIOUS_SESSION_OPEN = "adhoc_previous_session_open"
    ADHOC_PERMANENT_AGENT = "adhoc_permanent_agent"


KEY_REFUSALS = frozenset(
    {
        RefusalCode.SESSION_KEY_UNKNOWN,
        RefusalCode.SESSION_KEY_EXPIRED,
        RefusalCode.SESSION_KEY_USED,
        RefusalCode.SESSION_KEY_REVOKED,
    }
)


class ErrorCode(StrEnum):
    """Why one frame could not be used (an `error` message; the connection stays open)."""

    FRAME_TOO_LARGE = "frame_too_large"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_TYPE = "missing_type"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_MESSAGE = "invalid_message"
    BINARY_FRAME = "binary_frame"
    UNEXPECTED_MESSAGE = "unexpected_message"
    UNSOLICITED_REPORT = "unsolicited_report"
    # The security code a temporary host sent is not its session's latest (ADH-3, ADH-7).
    ADHOC_CODE_INVALID = "adhoc_code_invalid"
