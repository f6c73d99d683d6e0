"""The device list over the API (issue 13 item 5, UNA-5), on SQLite and PostgreSQL: one search
box over hostname, nickname, comments, tags, public and private addresses; filters by company,
Jump group, online/offline and kind; pages in a fixed order with their total and the same few
statements whatever the number of devices; scope (GOV-3): out-of-scope devices are absent and
answer 404; details, edits and moves with their specific errors, all audited; the frequently
used list; deletion. The real agent's side (online live, inventory, remote uninstall now or at
its next hello) is at the end, against the real server process."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from relaydesk.protocol import identity
from relaydesk.protocol.messages import (
    DeviceCredential,
    InstallerCredential,
)
from relaydesk.server.db.models import AuditEntry, Device, DeviceGroup, DeviceTag, User
from relaydesk.server.domain.actor import SystemActor
from relaydesk.server.domain.users import assign_role, role_by_builtin
from tests.api.conftest import Harness, Org
from tests.fixtures.agents import AGENT
from tests.fixtures.common import eventually
from tests.fixtures.databases import StatementLog, run_async
from tests.fixtures.technician import Technician, scoped_technician
from tests.fixtures.unattended import (
    device_events_until,
    hello_frames,
    installer_credential,
    issue_installer,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def add_group(harness: Harness, org_id: int, name: str) -> int:
    async with harness.db() as db:
        group = DeviceGroup(organisation_id=org_id, name=name, description="")
        db.add(group)
        await db.flush()
        return group.id


async def add_device(
    harness: Harness, org_id: int, hostname: str, tags: tuple[str, ...] = (), **fields: Any
) -> int:
    """A device as an enrolment leaves it (installed unless told), straight into the database."""
    async with harness.db() as db:
        device = Device(
            organisation_id=org_id,
            kind=fields.pop("kind", "unattended"),
            public_key="k" * 43,
            hostname=hostname,
            os="Debian GNU/Linux 12 (bookworm)",
            created_at=NOW,
            last_seen_at=NOW,
            **fields,
        )
        db.add(device)
        await db.flush()
        db.add_all(DeviceTag(device_id=device.id, tag=tag) for tag in tags)
        return device.id


async def scoped_operator(harness: Harness, org_id: int, email: str, groups: list[int]) -> Any:
    """A help desk operator whose role reaches only these device groups."""
    user = await harness.user(org_id, email, role=None)
    async with harness.db() as db:
        role = await role_by_builtin(db, org_id, "helpdesk_operator")
        attached = await db.get(User, user.id)
        assert attached is not None
        await assign_role(db, SystemActor(org_id), attached, role, False, groups)
    return await harness.signed_in(email)


async def hostnames(client: Any, query: str = "") -> list[str]:
    response = await client.get(f"/api/v1/devices{query}")
    assert response.status_code == 200, response.text
    return [d["hostname"] for d in response.json()["devices"]]


async def audit_of(harness: Harness, action: str) -> list[AuditEntry]:
    async with harness.db() as db:
        rows = await db.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
        return list(rows.scalars())


async def test_one_search_box_finds_each_field(org: Org, harness: Harness) -> None:
    await add_device(harness, org.id, "ws-accounting-01")
    await add_device(harness, org.id, "pc-0002", nickname="Reception desk")
    await add_device(harness, org.id, "pc-0003", comments="Printer on the 2nd floor\nKeep on")
    await add_device(harness, org.id, "pc-0004", tags=("Kiosk", "lobby"))
    await add_device(harness, org.id, "pc-0005", public_ip="203.0.113.77")
    await add_device(harness, org.id, "pc-0006", private_ips="10.20.30.40 fd00::6")
    await add_device(harness, org.id, "pc-100%")

    searched = {
        "?q=ws-acc": ["ws-accounting-01"],  # hostname prefix
        "?q=ACCOUNTING": ["ws-accounting-01"],  # anywhere, any case
        "?q=reception": ["pc-0002"],  # nickname
        "?q=2nd%20floor": ["pc-0003"],  # comments
        "?q=kiosk": ["pc-0004"],  # tag
        "?q=LOBBY": ["pc-0004"],
        "?q=203.0.113.77": ["pc-0005"],  # public address
        "?q=10.20.30": ["pc-0006"],  # private address
        "?q=fd00::6": ["pc-0006"],
        "?q=100%25": ["pc-100%"],  # a % is a character, not a wildcard
        "?q=%25": ["pc-100%"],
        "?q=_": [],
        "?q=nothing-like-this": [],
        "?q=%20%20": [f"pc-000{n}" for n in range(2, 7)] + ["pc-100%", "ws-accounting-01"],
    }
    found = {query: await hostnames(org.admin, query) for query in searched}
    assert found == searched


async def test_filters_company_group_online_and_kind(org: Org, harness: Harness) -> None:
    laptops = await add_group(harness, org.id, "Laptops")
    servers = await add_group(harness, org.id, "Servers")
    await add_device(harness, org.id, "a-laptop", company="Globex", device_group_id=laptops)
    await add_device(
        harness,
        org.id,
        "b-laptop",
        company="Initech",
        device_group_id=laptops,
        online_since=NOW,
    )
    await add_device(
        harness, org.id, "c-server", company="Globex", device_group_id=servers, online_since=NOW
    )
    await add_device(harness, org.id, "d-attended", kind="temporary")

    assert await hostnames(org.admin, "?company=globex") == ["a-laptop", "c-server"]
    assert await hostnames(org.admin, f"?device_group_id={laptops}") == ["a-laptop", "b-laptop"]
    assert await hostnames(org.admin, "?online=true") == ["b-laptop", "c-server"]
    assert await hostnames(org.admin, "?online=false") == ["a-laptop", "d-attended"]
    assert await hostnames(org.admin, "?kind=temporary") == ["d-attended"]
    assert await hostnames(org.admin, f"?online=true&device_group_id={laptops}") == ["b-laptop"]
    assert await hostnames(org.admin, "?q=laptop&company=Globex") == ["a-laptop"]
    listed = (await org.admin.get("/api/v1/devices?q=b-laptop")).json()["devices"][0]
    assert (listed["online"], listed["device_group_name"], listed["company"]) == (
        True,
        "Laptops",
        "Initech",
    )
    wrong = await org.admin.get("/api/v1/devices?kind=toaster")
    assert wrong.status_code == 422

    filters = (await org.admin.get("/api/v1/devices/filters")).json()
    assert filters["companies"] == ["Globex", "Initech"]
    assert [g["name"] for g in filters["device_groups"]] == ["Laptops", "Servers"]


async def test_pages_in_a_fixed_order_with_the_same_statements_for_10_and_300_devices(
    org: Org, harness: Harness
) -> None:
    log = StatementLog(harness.app.state.runtime.engine)
    for n in range(10):
        await add_device(harness, org.id, f"host-{n:03d}", tags=("t1", "t2"))
    small, small_count = await log.get(org.admin, "/api/v1/devices?limit=4")
    assert [d["hostname"] for d in small["devices"]] == [f"host-{n:03d}" for n in range(4)]
    assert (small["total"], small["limit"], small["offset"]) == (10, 4, 0)
    assert small["devices"][0]["tags"] == ["t1", "t2"]

    async with harness.db() as db:
        for n in range(10, 300):
            db.add(
                Device(
                    organisation_id=org.id,
                    kind="unattended",
                    public_key="k" * 43,
                    hostname=f"host-{n:03d}",
                )
            )
    # The same name twice: the id decides, every time.
    twin_a = await add_device(harness, org.id, "host-150")
    large, large_count = await log.get(org.admin, "/api/v1/devices?limit=4")
    assert large_count == small_count, f"{small_count} statements for 10, {large_count} for 300"
    assert large["total"] == 301

    seen: list[int] = []
    for offset in range(0, 301, 50):
        page, count = await log.get(org.admin, f"/api/v1/devices?limit=50&offset={offset}")
        assert count == small_count
        seen += [d["id"] for d in page["devices"]]
    assert len(seen) == len(set(seen)) == 301
    names = [
        d["hostname"] for d in (await org.admin.get("/api/v1/devices?limit=200")).json()["devices"]
    ]
    assert names == sorted(names)
    twins = (await org.admin.get("/api/v1/devices?q=host-150")).json()["devices"]
    assert [d["id"] for d in twins][1] == twin_a
    beyond = (await org.admin.get("/api/v1/devices?offset=400")).json()
    assert (beyond["devices"], beyond["total"]) == ([], 301)
    too_many = await org.admin.get("/api/v1/devices?limit=201")
    assert too_many.status_code == 422 and "limit" in too_many.text


async def test_devices_out_of_scope_are_absent_and_answer_404(org: Org, harness: Harness) -> None:
    mine = await add_group(harness, org.id, "Mine")
    theirs = await add_group(harness, org.id, "Theirs")
    visible = await add_device(harness, org.id, "pc-mine", device_group_id=mine, tags=("x",))
    hidden = await add_device(
        harness, org.id, "pc-theirs", device_group_id=theirs, tags=("x",), online_since=NOW
    )
    loose = await add_device(harness, org.id, "pc-no-group", tags=("x",))
    other_org = await harness.organisation("Other Support")
    foreign = await add_device(harness, other_org, "pc-foreign", tags=("x",))
    operator = await scoped_operator(harness, org.id, "sam@acme.test", [mine])

    assert await hostnames(operator) == ["pc-mine"]
    assert await hostnames(operator, "?q=x") == ["pc-mine"]
    assert await hostnames(operator, "?q=theirs") == []
    assert await hostnames(operator, f"?device_group_id={theirs}") == []
    assert await hostnames(operator, "?online=true") == []
    assert (await operator.get("/api/v1/devices")).json()["total"] == 1
    assert await hostnames(org.admin) == ["pc-mine", "pc-no-group", "pc-theirs"]
    filters = (await operator.get("/api/v1/devices/filters")).json()
    assert [g["name"] for g in filters["device_groups"]] == ["Mine"]

    assert (await operator.get(f"/api/v1/devices/{visible}")).status_code == 200
    for device_id in (hidden, loose, foreign, 999_999):
        for response in (
            await operator.get(f"/api/v1/devices/{device_id}"),
            await operator.patch(f"/api/v1/devices/{device_id}", json={"nickname": "x"}),
            await operator.post(f"/api/v1/devices/{device_id}/inventory"),
            await operator.delete(f"/api/v1/devices/{device_id}"),
        ):
            assert response.status_code == 404, response.text
            assert response.json() == {
                "detail": f"No device with id {device_id}.",
                "code": "device_not_found",
            }
    await operator.get(f"/api/v1/devices/{visible}")
    assert [d["hostname"] for d in (await operator.get("/api/v1/devices/frequent")).json()] == [
        "pc-mine"
    ]


async def test_details_edits_and_moves_with_their_errors_all_audited(
    org: Org, harness: Harness
) -> None:
    kiosks = await add_group(harness, org.id, "Kiosks")
    lobby = await add_group(harness, org.id, "Lobby")
    vault = await add_group(harness, org.id, "Vault")
    device_id = await add_device(
        harness,
        org.id,
        "kiosk-7",
        device_group_id=kiosks,
        company="Globex",
        public_ip="198.51.100.7",
        private_ips="192.168.1.7",
        agent_version="1.2.3",
        inventory={"os": {"name": "Debian"}},
        inventory_at=NOW,
    )
    url = f"/api/v1/devices/{device_id}"
    shown = (await org.admin.get(url)).json()
    assert shown["hostname"] == "kiosk-7" and shown["private_ips"] == ["192.168.1.7"]
    assert (shown["inventory"], shown["agent_version"]) == ({"os": {"name": "Debian"}}, "1.2.3")
    assert shown["online"] is False and shown["online_since"] is None

    edited = await org.admin.patch(
        url,
        json={
            "nickname": "  Lobby   kiosk ",
            "comments": "Touch screen.\r\nCall Bob first.",
            "tags": ["touch", "Lobby", "lobby", " "],
        },
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["nickname"], edited.json()["tags"]) == ("Lobby kiosk", ["Lobby", "touch"])
    assert edited.json()["comments"] == "Touch screen.\nCall Bob first."
    assert await hostnames(org.admin, "?q=call%20bob") == ["kiosk-7"]
    (entry,) = await audit_of(harness, "device.edited")
    assert (entry.target, entry.actor_label) == (f"device:{device_id}", "ada@acme.test")
    assert entry.details["nickname"] == {"from": "", "to": "Lobby kiosk"}
    assert entry.details["tags"] == {"from": [], "to": ["Lobby", "touch"]}

    refusals = {
        "nickname_too_long": {"nickname": "n" * 101},
        "invalid_nickname": {"nickname": "two\nlines"},
        "comments_too_long": {"comments": "c" * 1001},
        "tag_too_long": {"tags": ["t" * 51]},
        "too_many_tags": {"tags": [f"tag{n}" for n in range(21)]},
    }
    for code, body in refusals.items():
        refused = await org.admin.patch(url, json=body)
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
        assert refused.json()["field"] == next(iter(body))
    unknown = await org.admin.patch(url, json={"device_group_id": 999_999})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "device_group_not_found")
    typo = await org.admin.patch(url, json={"nick": "x"})
    assert typo.status_code == 422

    moved = await org.admin.patch(url, json={"device_group_id": lobby})
    assert (moved.json()["device_group_id"], moved.json()["device_group_name"]) == (lobby, "Lobby")
    (move,) = await audit_of(harness, "device.moved")
    assert (move.details["from_group_id"], move.details["to_group_id"]) == (kiosks, lobby)

    # A manager of Lobby and Kiosks but not Vault: he may move between his groups only.
    manager = await harness.user(org.id, "max@acme.test", role=None)
    async with harness.db() as db:
        role = await role_by_builtin(db, org.id, "administrator")
        attached = await db.get(User, manager.id)
        assert attached is not None
        await assign_role(db, SystemActor(org.id), attached, role, False, [kiosks, lobby])
    max_ = await harness.signed_in("max@acme.test")
    out = await max_.patch(url, json={"device_group_id": vault})
    assert (out.status_code, out.json()["code"]) == (403, "device_group_out_of_scope")
    assert "Vault" in out.json()["detail"]
    nowhere = await max_.patch(url, json={"device_group_id": None})
    assert (nowhere.status_code, nowhere.json()["code"]) == (403, "device_group_out_of_scope")
    back = await max_.patch(url, json={"device_group_id": kiosks})
    assert back.status_code == 200 and back.json()["device_group_id"] == kiosks

    # An operator sees the device but does not manage devices.
    operator = await scoped_operator(harness, org.id, "olga@acme.test", [kiosks])
    assert (await operator.get(url)).status_code == 200
    for response in (
        await operator.patch(url, json={"nickname": "mine"}),
        await operator.delete(url),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert (await org.admin.get(url)).json()["nickname"] == "Lobby kiosk"


async def test_the_frequently_used_list_is_each_technicians_own(org: Org, harness: Harness) -> None:
    first = await add_device(harness, org.id, "pc-first")
    second = await add_device(harness, org.id, "pc-second")
    await add_device(harness, org.id, "pc-never")
    assert (await org.admin.get("/api/v1/devices/frequent")).json() == []
    for device_id in (first, second, second, second, first, second):
        assert (await org.admin.get(f"/api/v1/devices/{device_id}")).status_code == 200
    # Read again after a change (what the console does): not a use.
    again = await org.admin.get(f"/api/v1/devices/{first}?count_use=false")
    assert again.status_code == 200 and again.json()["hostname"] == "pc-first"
    used = (await org.admin.get("/api/v1/devices/frequent")).json()
    assert [(d["hostname"], d["uses"]) for d in used] == [("pc-second", 4), ("pc-first", 2)]

    await harness.user(org.id, "bob@acme.test", "operator")
    bob = await harness.signed_in("bob@acme.test")
    await bob.get(f"/api/v1/devices/{first}")
    assert [d["hostname"] for d in (await bob.get("/api/v1/devices/frequent")).json()] == [
        "pc-first"
    ]
    await org.admin.delete(f"/api/v1/devices/{second}")
    assert [d["hostname"] for d in (await org.admin.get("/api/v1/devices/frequent")).json()] == [
        "pc-first"
    ]


async def test_delete_and_refresh_refusals(org: Org, harness: Harness) -> None:
    attended = await add_device(harness, org.id, "pc-attended", kind="temporary")
    installed = await add_device(harness, org.id, "pc-installed", nickname="Front desk")

    offline = await org.admin.post(f"/api/v1/devices/{installed}/inventory")
    assert (offline.status_code, offline.json()["code"]) == (409, "device_offline")
    assert offline.json()["detail"] == (
        "Front desk is offline: its inventory can be refreshed when its agent is connected again."
    )
    temporary = await org.admin.delete(f"/api/v1/devices/{attended}")
    assert (temporary.status_code, temporary.json()["code"]) == (409, "device_not_installed")

    deleted = await org.admin.delete(f"/api/v1/devices/{installed}")
    assert deleted.json() == {"id": installed, "uninstall": "at_next_connection"}
    assert await hostnames(org.admin) == ["pc-attended"]
    assert await hostnames(org.admin, "?q=front") == []
    gone = await org.admin.get(f"/api/v1/devices/{installed}")
    assert (gone.status_code, gone.json()["code"]) == (404, "device_not_found")
    again = await org.admin.delete(f"/api/v1/devices/{installed}")
    assert again.status_code == 404
    (entry,) = await audit_of(harness, "device.deleted")
    assert (entry.target, entry.actor_label) == (f"device:{installed}", "ada@acme.test")
    assert entry.details["uninstall"] == "at its next connection"
    async with harness.db() as db:
        device = await db.get(Device, installed)
        assert device is not None
        assert device.removed_at is not None and device.uninstall_requested_at is not None


# --- the real server and the real agent ---------------------------------------------------
def _agent(server: Any, token: str, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [AGENT, "--server", server.url, "--installer", token, "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _device(technician: Technician, device_id: int) -> dict[str, Any]:
    return dict(technician.http.get(f"/api/v1/devices/{device_id}").json())


def _stop(agent: subprocess.Popen[str]) -> str:
    if agent.poll() is None:
        agent.terminate()
    output, _ = agent.communicate(timeout=30)
    return output


def test_the_real_agent_online_inventory_and_remote_uninstall(
    relaydesk_server: Any, tmp_path: Path
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = issue_installer(technician)
    state = tmp_path / "state"
    agent = _agent(relaydesk_server, issued["token"], state)
    try:
        device_id = eventually(
            lambda: (state / "device").exists() and int((state / "device").read_text()),
            60,
            "the agent to enrol",
        )
        shown = eventually(
            lambda: (d := _device(technician, device_id))["online"] and d, 30, "online"
        )
        assert shown["company"] == "Globex"  # copied from its installer
        assert shown["public_ip"] == "127.0.0.1"
        assert shown["private_ips"] and "127.0.0.1" not in shown["private_ips"]
        assert shown["agent_version"] == relaydesk_server.version
        assert shown["online_since"] is not None and shown["inventory"] is None
        listed = technician.http.get(f"/api/v1/devices?q={shown['private_ips'][0]}").json()
        assert [d["id"] for d in listed["devices"]] == [device_id]

        asked = technician.http.post(f"/api/v1/devices/{device_id}/inventory")
        assert asked.status_code == 202, asked.text
        inventory = eventually(
            lambda: _device(technician, device_id)["inventory"], 60, "the inventory to arrive"
        )
        assert inventory["os"]["name"] and inventory["memory"]["total_bytes"] > 0
        assert inventory["cpu"]["logical_cores"] >= 1 and inventory["disks"]

        agent.terminate()
        agent.wait(30)
        gone = eventually(
            lambda: not (d := _device(technician, device_id))["online"] and d, 30, "offline"
        )
        assert gone["online_since"] is None and gone["last_seen_at"] > shown["online_since"]
        offline = technician.http.get("/api/v1/devices?online=false").json()["devices"]
        assert [d["id"] for d in offline] == [device_id]
        agent = _agent(relaydesk_server, issued["token"], state)
        eventually(lambda: _device(technician, device_id)["online"], 60, "back online")

        deleted = technician.http.delete(f"/api/v1/devices/{device_id}")
        assert deleted.json() == {"id": device_id, "uninstall": "sent_now"}
        # The agent is told at once: it removes itself and exits (part A's agent side); either
        # way its link is over and the device gone from the list.
        eventually(lambda: agent.poll() is not None, 60, "the agent to stop after uninstall")
        assert technician.http.get("/api/v1/devices").json()["total"] == 0
    finally:
        output = _stop(agent)
    assert "uninstall" in output.lower(), output
    entries = technician.http.get("/api/v1/audit?action=device.uninstall_sent").json()["items"]
    assert [e["details"]["when"] for e in entries] == ["while connected"], entries
    assert [e["target"] for e in entries] == [f"device:{device_id}"]
    assert issued["token"] not in relaydesk_server.output()


def test_a_device_deleted_while_away_is_told_to_uninstall_at_its_next_hello(
    relaydesk_server: Any,
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    issued = issue_installer(technician)
    url = relaydesk_server.url.replace("http://", "ws://") + "/agent/ws"
    key = identity.DeviceKey.generate()
    first = run_async(
        hello_frames(url, key, InstallerCredential(kind="installer", token=issued["token"]))
    )
    device_id = first[-1]["device_id"]
    assert first[-1]["type"] == "welcome"
    eventually(lambda: not _device(technician, device_id)["online"], 30, "offline")
    shown = _device(technician, device_id)
    assert shown["private_ips"] == ["10.9.8.7"] and shown["agent_version"] == "test"

    deleted = technician.http.delete(f"/api/v1/devices/{device_id}")
    assert deleted.json() == {"id": device_id, "uninstall": "at_next_connection"}
    for _ in range(2):  # every time it comes back, until it has removed itself
        frames = run_async(
            hello_frames(url, key, DeviceCredential(kind="device", device_id=device_id))
        )
        assert [f["type"] for f in frames] == ["challenge", "uninstall"], frames
        assert frames[-1]["reason"] == "This computer was deleted from the device list."
    # Another key claiming the deleted device's id is refused outright.
    stranger = run_async(
        hello_frames(
            url,
            identity.DeviceKey.generate(),
            DeviceCredential(kind="device", device_id=device_id),
        )
    )
    assert [f["type"] for f in stranger] == ["refused"]
    assert stranger[-1]["code"] == "device_unknown"
    assert (technician.http.get(f"/api/v1/devices/{device_id}")).status_code == 404


def test_live_device_events_reach_only_consoles_whose_scope_reaches_the_device(
    relaydesk_server: Any,
) -> None:
    admin = Technician(relaydesk_server).sign_in_first_time()
    lobby = admin.http.post("/api/v1/device-groups", json={"name": "Lobby"}).json()["id"]
    vault = admin.http.post("/api/v1/device-groups", json={"name": "Vault"}).json()["id"]
    tom = scoped_technician(admin, relaydesk_server, "tom@demo.test", lobby, name="Tom Lobby")
    url = relaydesk_server.url.replace("http://", "ws://") + "/agent/ws"

    def enrol(group: int) -> int:
        token = issue_installer(admin, device_group_id=group)["token"]
        frames = run_async(
            hello_frames(url, identity.DeviceKey.generate(), installer_credential(token))
        )
        return int(frames[-1]["device_id"])

    with admin.console() as everything, tom.console() as lobby_only:
        in_vault = enrol(vault)
        in_lobby = enrol(lobby)

        def offline(device_id: int) -> Any:
            return lambda e: e["device_id"] == device_id and e.get("online") is False

        seen_by_admin = device_events_until(everything, offline(in_lobby))
        assert {(e["device_id"], e["online"]) for e in seen_by_admin} == {
            (in_vault, True),
            (in_vault, False),
            (in_lobby, True),
            (in_lobby, False),
        }
        seen_by_tom = device_events_until(lobby_only, offline(in_lobby))
        assert [(e["device_id"], e["online"]) for e in seen_by_tom] == [
            (in_lobby, True),
            (in_lobby, False),
        ]
        assert seen_by_tom[0]["device_group_id"] == lobby

        # Moved into his group: he hears of it; moved out of it: he hears that it left.
        moved = admin.http.patch(f"/api/v1/devices/{in_vault}", json={"device_group_id": lobby})
        assert moved.status_code == 200, moved.text
        (came,) = device_events_until(lobby_only, lambda e: e["device_id"] == in_vault)
        assert (came["type"], came["change"], came["previous_group_id"]) == (
            "device.changed",
            "moved",
            vault,
        )
        admin.http.patch(f"/api/v1/devices/{in_lobby}", json={"device_group_id": vault})
        (left,) = device_events_until(lobby_only, lambda e: e["device_id"] == in_lobby)
        assert (left["change"], left["device_group_id"], left["previous_group_id"]) == (
            "moved",
            vault,
            lobby,
        )
        assert tom.http.get(f"/api/v1/devices/{in_lobby}").status_code == 404
        # Edited outside his scope now: not a word to him (the next thing he hears is his own).
        admin.http.patch(f"/api/v1/devices/{in_lobby}", json={"nickname": "Vault PC"})
        admin.http.patch(f"/api/v1/devices/{in_vault}", json={"nickname": "Lobby PC"})
        (next_one,) = device_events_until(lobby_only, lambda e: True)
        assert (next_one["device_id"], next_one["change"]) == (in_vault, "edited")
