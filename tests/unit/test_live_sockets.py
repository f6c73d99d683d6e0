"""Which live sockets an ending closes (domain/live_sockets.ends) and the in-memory registry that
closes them when the ending comes through the broker."""

from __future__ import annotations

import asyncio

from relaydesk.server.broker import MemoryBroker
from relaydesk.server.domain.live_sockets import (
    LIVE_SOCKETS_TOPIC,
    RIGHTS_CHANGED,
    SIGNED_OUT,
    Because,
    Close,
    Ending,
    LiveSocket,
    ends,
)
from relaydesk.server.live_sockets import MemoryLiveSockets

TOM_HERE = LiveSocket(user_id=7, login_id=1, kind="console")
TOM_THERE = LiveSocket(user_id=7, login_id=2, kind="console")
TOM_SHELL_THERE = LiveSocket(user_id=7, login_id=2, kind="shell")
TOM_BY_TOKEN = LiveSocket(user_id=7, login_id=None, kind="files")
ANN = LiveSocket(user_id=8, login_id=3, kind="console")
ALL = [TOM_HERE, TOM_THERE, TOM_SHELL_THERE, TOM_BY_TOKEN, ANN]


def closed_by(ending: Ending) -> list[LiveSocket]:
    return [socket for socket in ALL if ends(socket, ending)]


def test_signing_out_closes_that_sign_ins_sockets_only() -> None:
    assert closed_by(Ending(7, Because.SIGNED_OUT, login_id=2)) == [TOM_THERE, TOM_SHELL_THERE]


def test_an_own_change_keeps_the_acting_sign_in_only() -> None:
    assert closed_by(Ending(7, Because.PASSWORD_CHANGED, keep_login_id=1)) == [
        TOM_THERE,
        TOM_SHELL_THERE,
        TOM_BY_TOKEN,
    ]


def test_deactivation_and_rights_changes_close_every_socket_of_the_user() -> None:
    tom = [TOM_HERE, TOM_THERE, TOM_SHELL_THERE, TOM_BY_TOKEN]
    assert closed_by(Ending(7, Because.DEACTIVATED)) == tom
    assert closed_by(Ending(7, Because.RIGHTS_CHANGED)) == tom
    assert Ending(7, Because.DEACTIVATED).close_code == SIGNED_OUT
    assert Ending(7, Because.RIGHTS_CHANGED).close_code == RIGHTS_CHANGED


def test_an_ending_survives_the_trip_through_the_broker() -> None:
    ending = Ending(7, Because.TOTP_DISABLED, keep_login_id=1)
    assert Ending.from_event(ending.as_event()) == ending


async def test_the_registry_closes_what_the_broker_announces_once() -> None:
    broker, registry = MemoryBroker(), MemoryLiveSockets()
    closes: list[tuple[str, int, str]] = []
    closed = asyncio.Event()

    def closer(name: str) -> Close:
        async def close(code: int, reason: str) -> None:
            closes.append((name, code, reason))
            closed.set()

        return close

    listening = asyncio.create_task(registry.listen(broker))
    await asyncio.sleep(0)  # subscribed
    with (
        registry.connected(TOM_HERE, closer("here")),
        registry.connected(TOM_THERE, closer("there")),
        registry.connected(ANN, closer("ann")),
    ):
        await broker.publish(
            LIVE_SOCKETS_TOPIC, Ending(7, Because.SIGNED_OUT, login_id=2).as_event()
        )
        await asyncio.wait_for(closed.wait(), 10)
        assert closes == [("there", SIGNED_OUT, "signed out")]
        assert registry.sockets_of(7) == [TOM_HERE]
        assert await registry.end(Ending(7, Because.SIGNED_OUT, login_id=2)) == 0
    assert registry.sockets_of(7) == [] and registry.sockets_of(8) == []
    listening.cancel()


async def test_a_socket_that_never_closes_does_not_stop_the_next_ending() -> None:
    """A slow peer's close must not leave the node deaf to further endings."""
    broker, registry = MemoryBroker(), MemoryLiveSockets()
    ann_closed = asyncio.Event()

    async def hangs(code: int, reason: str) -> None:
        await asyncio.Event().wait()

    async def close_ann(code: int, reason: str) -> None:
        ann_closed.set()

    listening = asyncio.create_task(registry.listen(broker))
    await asyncio.sleep(0)  # subscribed
    with registry.connected(TOM_HERE, hangs), registry.connected(ANN, close_ann):
        await broker.publish(LIVE_SOCKETS_TOPIC, Ending(7, Because.DEACTIVATED).as_event())
        await broker.publish(LIVE_SOCKETS_TOPIC, Ending(8, Because.DEACTIVATED).as_event())
        await asyncio.wait_for(ann_closed.wait(), 10)
    listening.cancel()
