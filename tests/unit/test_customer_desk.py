"""The customer's window's model (agent/desktop/state.py): what the window and the terminal show
for each state the server sends, without Tk."""

from __future__ import annotations

import pytest

from relaydesk.agent.desktop.state import CustomerDesk, chat_text
from relaydesk.protocol.messages import ChatEntry, CustomerState, Helper

ALICE = Helper(
    name="Alice Martin", title="Engineer", company="Example Ltd", verified_domain="example.com"
)


def desk(**state: object) -> CustomerDesk:
    model = CustomerDesk()
    model.apply_state(CustomerState.model_validate({"type": "customer_state", **state}))
    return model


def line(id: int, sender: str, text: str) -> ChatEntry:
    return ChatEntry(
        id=id,
        at="2026-12-03T12:00:00+00:00",
        sender=sender,
        sender_name="Bob" if sender == "customer" else "Alice Martin",
        text=text,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "headline", "indicator"),
    [
        ({"status": "waiting"}, "Waiting in the queue for a technician.", None),
        ({"status": "active", "helper": ALICE}, "Alice Martin joined the session.", None),
        (
            {
                "status": "active",
                "helper": ALICE,
                "screen_state": "requested",
                "screen_requested": "view",
            },
            "Alice Martin joined the session.",
            None,
        ),
        (
            {"status": "active", "helper": ALICE, "screen_state": "view"},
            "Alice Martin is viewing your screen.",
            "Viewed by Alice Martin",
        ),
        (
            {"status": "active", "helper": ALICE, "screen_state": "control"},
            "Alice Martin controls your screen.",
            "Controlled by Alice Martin",
        ),
        ({"status": "held", "helper": ALICE}, "Alice Martin put the session on hold.", None),
        (
            {"status": "ended", "helper": ALICE, "screen_state": "view"},
            "The support session has ended.",
            None,
        ),
    ],
)
def test_headline_and_indicator_follow_the_servers_state(
    state: dict[str, object], headline: str, indicator: str | None
) -> None:
    model = desk(**state)
    assert model.headline == headline
    assert model.indicator == indicator


def test_the_question_says_what_is_asked_and_only_while_active() -> None:
    view = desk(status="active", helper=ALICE, screen_state="requested", screen_requested="view")
    assert view.prompt is not None and view.prompt.mode == "view"
    assert "see your screen" in view.prompt.question and "cannot use" in view.prompt.question
    control = desk(status="active", helper=ALICE, screen_state="view", screen_requested="control")
    assert control.prompt is not None and control.prompt.mode == "control"
    assert "mouse and keyboard" in control.prompt.question
    assert desk(status="held", helper=ALICE, screen_requested="view").prompt is None
    assert desk(status="active", helper=ALICE).prompt is None


def test_buttons_follow_sharing() -> None:
    assert not desk(status="active", helper=ALICE).sharing
    viewed = desk(status="active", helper=ALICE, screen_state="view")
    assert viewed.sharing and not viewed.may_take_control_back
    assert desk(status="active", helper=ALICE, screen_state="control").may_take_control_back


def test_chat_keeps_order_once_each_and_follows_the_switch() -> None:
    model = desk(status="active", helper=ALICE, chat=[line(1, "technician", "Hello 你好 😀")])
    model.add_chat(line(2, "customer", "Hi"))
    model.add_chat(line(2, "customer", "Hi"))  # the state and the event can both carry it
    assert [chat_text(entry) for entry in model.chat] == ["Alice Martin: Hello 你好 😀", "You: Hi"]
    assert model.may_chat
    assert not desk(status="active", chat_enabled=False).may_chat
    assert not desk(status="ended").may_chat


def test_a_lost_connection_shows_and_blocks_until_the_next_state() -> None:
    model = desk(status="active", helper=ALICE)
    model.disconnected()
    assert model.headline == "Connection lost; reconnecting…"
    assert not model.may_chat
    model.apply_state(CustomerState(type="customer_state", status="active", helper=ALICE))
    assert model.headline == "Alice Martin joined the session."


def test_who_is_helping() -> None:
    assert desk(status="active", helper=ALICE).helper_lines == [
        "Alice Martin",
        "Engineer, Example Ltd",
        "✔ verified: example.com",
    ]
    assert desk(status="waiting").helper_lines == ["No technician yet."]
