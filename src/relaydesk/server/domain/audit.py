"""The audit log (GOV-9): one hash chain per organisation, written in the same transaction as
the change it records, so that an acknowledged change always has its entry."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.server.db.models import AuditEntry, Organisation, User, utcnow

GENESIS = "0" * 64


def entry_digest(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    ip: str,
    action: str,
    target: str,
    details: dict[str, Any],
) -> str:
    body = json.dumps(
        [prev_hash, seq, at.isoformat(), actor_id, actor_label, ip, action, target, details],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Who:
    """Who did something, in which organisation, from which address."""

    organisation_id: int
    actor_id: int | None
    label: str
    ip: str = ""

    @classmethod
    def of_user(cls, user: User, ip: str) -> Who:
        return cls(user.organisation_id, user.id, user.email, ip)

    @classmethod
    def system(cls, organisation_id: int, label: str = "system") -> Who:
        return cls(organisation_id, None, label)


async def record(
    db: AsyncSession,
    who: Who,
    action: str,
    *,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry to the organisation's chain. The caller commits."""
    return (await record_all(db, [Entry(who, action, target, details)]))[0]


@dataclass(frozen=True)
class Entry:
    """One entry to append: who did what to what."""

    who: Who
    action: str
    target: str = ""
    details: dict[str, Any] | None = None


async def record_all(db: AsyncSession, entries: Sequence[Entry]) -> list[AuditEntry]:
    """Append entries to their organisations' chains in this order, each organisation's head
    locked once (SELECT … FOR UPDATE: one writer at a time extends a chain, on every node), so
    that a group commit writes many in one transaction. The caller commits."""
    heads: dict[int, Organisation] = {}
    written: list[AuditEntry] = []
    for wanted in entries:
        who = wanted.who
        organisation = heads.get(who.organisation_id)
        if organisation is None:
            # The head as it is once locked, even when this session loaded the organisation
            # before (populate_existing): an older copy's seq was taken by another writer
            # meanwhile (on PostgreSQL: duplicate entries refused, the request failed).
            lock = (
                select(Organisation)
                .where(Organisation.id == who.organisation_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            organisation = (await db.execute(lock)).scalar_one()
            heads[who.organisation_id] = organisation
        seq = organisation.audit_head_seq + 1
        at = utcnow()
        details = json.loads(json.dumps(wanted.details or {}, default=str))
        digest = entry_digest(
            organisation.audit_head_hash,
            seq,
            at,
            who.actor_id,
            who.label,
            who.ip,
            wanted.action,
            wanted.target,
            details,
        )
        entry = AuditEntry(
            organisation_id=who.organisation_id,
            seq=seq,
            at=at,
            actor_id=who.actor_id,
            actor_label=who.label,
            ip=who.ip,
            action=wanted.action,
            target=wanted.target,
            details=details,
            prev_hash=organisation.audit_head_hash,
            hash=digest,
        )
        organisation.audit_head_seq = seq
        organisation.audit_head_hash = digest
        db.add(entry)
        written.append(entry)
    return written


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(organisation_id: int, where: AuditFilter) -> Select[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.organisation_id == organisation_id)
    if where.actor_id is not None:
        query = query.where(AuditEntry.actor_id == where.actor_id)
    if where.action:
        query = query.where(AuditEntry.action.startswith(where.action))
    if where.since is not None:
        query = query.where(AuditEntry.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.at <= where.until)
    return query


async def search(
    db: AsyncSession, organisation_id: int, where: AuditFilter, limit: int, offset: int
) -> tuple[Sequence[AuditEntry], int]:
    query = _filtered(organisation_id, where)
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await db.execute(query.order_by(AuditEntry.seq.desc()).limit(limit).offset(offset))
    return rows.scalars().all(), total


EXPORT_COLUMNS = [
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "ip",
    "action",
    "target",
    "details",
    "hash",
]


def _as_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "ip": entry.ip,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
        "hash": entry.hash,
    }


async def export(db: AsyncSession, organisation_id: int, where: AuditFilter, fmt: str) -> str:
    rows = await db.execute(_filtered(organisation_id, where).order_by(AuditEntry.seq))
    entries = [_as_row(e) for e in rows.scalars()]
    if fmt == "json":
        return json.dumps(entries, ensure_ascii=False, indent=2)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in entries:
        writer.writerow({**row, "details": json.dumps(row["details"], ensure_ascii=False)})
    return buffer.getvalue()


@dataclass(frozen=True)
class ChainBreak:
    organisation_id: int
    seq: int
    reason: str


async def verify(db: AsyncSession) -> tuple[int, list[ChainBreak]]:
    """Walk every organisation's chain; return the number of entries checked and the first
    broken link of each broken chain."""
    checked = 0
    breaks: list[ChainBreak] = []
    organisations = (await db.execute(select(Organisation).order_by(Organisation.id))).scalars()
    for organisation in organisations.all():
        prev = GENESIS
        expected_seq = 1
        query = (
            select(AuditEntry)
            .where(AuditEntry.organisation_id == organisation.id)
            .order_by(AuditEntry.seq)
        )
        broken: ChainBreak | None = None
        for entry in (await db.execute(query)).scalars():
            checked += 1
            if entry.seq != expected_seq:
                broken = ChainBreak(organisation.id, expected_seq, "entry missing")
                break
            if entry.prev_hash != prev:
                broken = ChainBreak(organisation.id, entry.seq, "link to previous entry broken")
                break
            digest = entry_digest(
                entry.prev_hash,
                entry.seq,
                entry.at,
                entry.actor_id,
                entry.actor_label,
                entry.ip,
                entry.action,
                entry.target,
                entry.details,
            )
            if digest != entry.hash:
                broken = ChainBreak(organisation.id, entry.seq, "entry content was changed")
                break
            prev = entry.hash
            expected_seq += 1
        if broken is None and (
            organisation.audit_head_seq != expected_seq - 1 or organisation.audit_head_hash != prev
        ):
            broken = ChainBreak(
                organisation.id, expected_seq, "entries after this one were deleted"
            )
        if broken is not None:
            breaks.append(broken)
    return checked, breaks
