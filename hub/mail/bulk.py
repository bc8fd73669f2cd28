"""Ingesting a batch of new messages set-based: a few statements per batch, not per message.

An initial sync is almost only messages the hub has never seen, so this path is the one
that decides how fast a mailbox arrives. It reads once per batch which of the batch's
Message-IDs and thread keys the database already knows, puts every message in its thread
in memory (replies to messages earlier in the same batch included), matches clients from
the directory in memory, and writes threads, messages, raw bytes, participants, thread
keys, copies, links and timeline entries with one multi-row INSERT per table.

What this path does not decide, it hands back to the one-copy path
(:func:`hub.mail.arrival.file_one`) after the batch is written: copies filed before,
messages whose key is already stored (a colleague's copy) and a second copy of a key
within the batch. The result must equal filing every copy one by one in order
(``tests/mail`` checks that); only thread ids may be numbered differently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.bulk_rows import insert_rows, reserve_ids
from hub.db import utcnow
from hub.mail.arrival import Arrival
from hub.mail.fields import message_columns, references, unique_people
from hub.mail.matching import Directory, clients_for, entry_values
from hub.mail.models import (
    MailCopy,
    MailMessage,
    MailParticipant,
    MailThread,
    MailThreadKey,
    MessageClientLink,
)
from hub.mail.threading import (
    FALLBACK_WINDOW,
    merge_threads,
    needs_subject_fallback,
    subject_key,
)
from hub.sync.parsed_mail import ParsedMail
from hub.timeline.models import TimelineEntry

_CHUNK = 500  # bound parameters per IN (...) stay well under every driver's limit
_MESSAGES = cast(Table, MailMessage.__table__)
_THREADS = cast(Table, MailThread.__table__)


@dataclass(slots=True)
class NewMessage:
    arrival: Arrival
    key: str
    parsed: ParsedMail
    people: list[tuple[str, str, str]]
    refs: list[str]
    sent_at: datetime
    subject: str
    #: The subject cleaned of Re:/Fwd: (:func:`subject_key`), worked out once.
    subject_key: str
    #: A reply by its subject that names no parent (:func:`needs_subject_fallback`).
    by_subject: bool
    node: int = 0
    message_id: int = 0

    @classmethod
    def of(cls, arrival: Arrival) -> NewMessage:
        parsed = arrival.parsed
        refs = references(parsed)
        return cls(arrival=arrival, key=arrival.key, parsed=parsed,
                   people=unique_people(parsed), refs=refs,
                   sent_at=arrival.sent_at, subject=parsed.subject,
                   subject_key=subject_key(parsed.subject),
                   by_subject=needs_subject_fallback(parsed.subject, refs))


@dataclass
class _Threads:
    """Threads as a union-find: stored threads by their id (> 0), threads new in this
    batch by -1, -2, ... A union keeps the lowest stored id, else the earliest new one -
    what the one-by-one path does, where older threads have lower ids."""

    parent: dict[int, int] = field(default_factory=dict)
    new: list[int] = field(default_factory=list)

    def find(self, node: int) -> int:
        root = node
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while node != root:  # path compression
            self.parent[node], node = root, self.parent.get(node, node)
        return root

    def create(self) -> int:
        node = -(len(self.new) + 1)
        self.new.append(node)
        return node

    def union(self, nodes: Iterable[int]) -> int:
        roots = sorted({self.find(n) for n in nodes}, key=lambda n: (n < 0, abs(n)))
        for other in roots[1:]:
            self.parent[other] = roots[0]
        return roots[0]


def ingest(session: Session, account: Account, arrivals: list[Arrival],
           directory: Directory) -> list[Arrival]:
    """Write the batch's new messages; return the copies left to the one-by-one path, in
    the order they came."""
    fresh: list[NewMessage] = []
    later: list[Arrival] = []
    keys: set[str] = set()
    for arrival in arrivals:
        key = arrival.key
        if arrival.record.target_id is not None or key in keys:
            later.append(arrival)
        else:
            keys.add(key)
            fresh.append(NewMessage.of(arrival))
    stored = _known(session, keys)
    if stored:
        later = [n.arrival for n in fresh if n.key in stored] + later
        fresh = [n for n in fresh if n.key not in stored]
    if fresh:
        _write(session, account, fresh, directory)
    return later


# Lists bound whole and expanded when a statement runs: an IN of 500 literals built anew
# for every chunk cost more than running it. Core rows: nothing here needs ORM objects.
_KNOWN = select(_MESSAGES.c.message_key).where(
    _MESSAGES.c.message_key.in_(bindparam("keys", expanding=True)))
_KEYS = cast(Table, MailThreadKey.__table__)
_THREAD_KEYS = select(_KEYS.c.key, _KEYS.c.thread_id).where(
    _KEYS.c.key.in_(bindparam("keys", expanding=True)))


def _known(session: Session, values: Iterable[str]) -> set[str]:
    """Of these message keys, those a stored message has."""
    wanted = list(values)
    conn = session.connection()
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(conn.execute(_KNOWN, {"keys": wanted[start:start + _CHUNK]}).scalars())
    return found


def _thread_keys(session: Session, keys: Iterable[str]) -> dict[str, int]:
    wanted = list(keys)
    conn = session.connection()
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        for key, thread_id in conn.execute(_THREAD_KEYS,
                                           {"keys": wanted[start:start + _CHUNK]}):
            found[key] = thread_id
    return found


def _assign_threads(session: Session, fresh: list[NewMessage]) -> tuple[_Threads, dict[str, int]]:
    """Each message's thread node; returns the union-find and every key's node."""
    stored = _thread_keys(session, {k for n in fresh for k in (n.key, *n.refs)})
    threads = _Threads()
    keymap: dict[str, int] = dict(stored)
    by_subject_here: dict[str, list[tuple[int, set[str], datetime]]] = {}
    subjects = _StoredSubjects(session, fresh)
    for new in fresh:
        keys = [new.key, *new.refs]
        participants = {address for _, address, _ in new.people}
        known = [keymap[k] for k in keys if k in keymap]
        node: int | None = threads.union(known) if known else None
        if node is None and new.by_subject:
            node = _fallback(new, participants, subjects, by_subject_here, threads)
        if node is None:
            node = threads.create()
        for key in keys:
            keymap.setdefault(key, node)
        new.node = node
        by_subject_here.setdefault(new.subject_key, []).append(
            (node, participants, new.sent_at))
    return threads, {k: v for k, v in keymap.items() if k not in stored}


_SUBJECT_ROWS = (
    select(MailMessage.thread_id, MailThread.subject_key, MailMessage.sent_at,
           MailParticipant.address)
    .join(MailParticipant, MailParticipant.message_id == MailMessage.id)
    .join(MailThread, MailThread.id == MailMessage.thread_id)
    .where(MailThread.subject_key.in_(bindparam("keys", expanding=True)),
           # ``|| ''`` keeps the address out of the index lookup: SQLite otherwise probes
           # (message, address) once per address of the batch's replies, dozens a
           # message, where reading the message's few participants is a seventh of it.
           (MailParticipant.address + "").in_(bindparam("people", expanding=True)),
           MailMessage.sent_at >= bindparam("low"), MailMessage.sent_at <= bindparam("high")))


class _StoredSubjects:
    """The stored side of the subject fallback for a whole batch in one query: for every
    subject a reply in the batch carries, who took part in which thread and when. The
    test is :func:`hub.mail.threading.by_subject`'s, evaluated in memory."""

    def __init__(self, session: Session, fresh: list[NewMessage]) -> None:
        replies = [n for n in fresh if n.by_subject]
        #: subject key -> participant -> (thread id, sent at) of each stored message. By
        #: participant, so that a reply looks only at its own people's messages: a
        #: common subject ("Fwd: Pankin tiliote") has thousands.
        self.rows: dict[str, dict[str, list[tuple[int, datetime]]]] = {}
        keys = list({n.subject_key for n in replies} - {""})
        if not keys:
            return
        people = list({a for n in replies for _, a, _ in n.people})
        low = min(n.sent_at for n in replies) - FALLBACK_WINDOW
        high = max(n.sent_at for n in replies) + FALLBACK_WINDOW
        conn = session.connection()
        for start in range(0, len(keys), _CHUNK):
            for chunk in range(0, len(people), _CHUNK):
                # Core, not ORM: plain rows, no identity map for thousands of them.
                for thread_id, key, sent_at, address in conn.execute(_SUBJECT_ROWS, {
                        "keys": keys[start:start + _CHUNK],
                        "people": people[chunk:chunk + _CHUNK], "low": low, "high": high}):
                    self.rows.setdefault(key, {}).setdefault(address, []).append(
                        (thread_id, sent_at))

    def find(self, key: str, participants: set[str], when: datetime) -> int | None:
        by_person = self.rows.get(key)
        if not by_person:
            return None
        shared: dict[int, set[str]] = {}
        for address in participants:
            for thread_id, sent_at in by_person.get(address, ()):
                if abs(sent_at - when) <= FALLBACK_WINDOW:
                    shared.setdefault(thread_id, set()).add(address)
        return min((t for t, seen in shared.items() if len(seen) >= 2), default=None)


def _fallback(new: NewMessage, participants: set[str], stored: _StoredSubjects,
              here: dict[str, list[tuple[int, set[str], datetime]]],
              threads: _Threads) -> int | None:
    """Same cleaned subject and two shared participants within the window: stored threads
    first (the one-by-one path finds the oldest), then this batch's."""
    key = new.subject_key
    if not key or len(participants) < 2:
        return None
    found = stored.find(key, participants, new.sent_at)
    if found is not None:
        return threads.find(found)
    for node, others, when in here.get(key, ()):
        if len(participants & others) >= 2 and abs(when - new.sent_at) <= FALLBACK_WINDOW:
            return threads.find(node)
    return None


def _write(session: Session, account: Account, fresh: list[NewMessage],
           directory: Directory) -> None:
    threads, new_keys = _assign_threads(session, fresh)
    for new in fresh:
        new.node = threads.find(new.node)
    for node in list(threads.parent):  # stored threads that this batch bridged
        if node > 0 and threads.find(node) != node:
            merge_threads(session, into=threads.find(node), other=node)
    ids = _thread_ids(session, threads, fresh)
    private = _private(session, {ids[n.node] for n in fresh if n.node > 0})
    matched = [clients_for((a for _, a, _ in n.people), directory) for n in fresh]
    conn = session.connection()
    message_ids = reserve_ids(conn, _MESSAGES, len(fresh))
    now = utcnow()
    rows = [{
        "id": message_id, "message_key": n.key, "thread_id": ids[n.node],
        "sent_at": n.sent_at, "headers_only": n.arrival.headers_only,
        "raw_id": n.arrival.raw_id, "internal_only": internal, "created_at": now,
        **message_columns(n.parsed),
    } for n, (internal, _), message_id in zip(fresh, matched, message_ids, strict=True)]
    insert_rows(conn, _MESSAGES, rows)
    for new, message_id in zip(fresh, message_ids, strict=True):
        new.message_id = message_id
    _insert(session, MailParticipant, [
        {"message_id": n.message_id, "address": address[:320],
         "domain": address.rpartition("@")[2][:253], "name": name[:300], "role": role}
        for n in fresh for role, address, name in n.people])
    _insert(session, MailThreadKey, [{"key": k, "thread_id": ids[threads.find(node)]}
                                     for k, node in new_keys.items()])
    copies = [{"message_id": n.message_id, "account_id": account.id,
               "source_record_id": n.arrival.record.id, "folder": n.arrival.folder,
               "flags": list(n.arrival.flags), "deleted_at": n.arrival.record.deleted_at}
              for n in fresh]
    _insert(session, MailCopy, copies)
    links, entries = [], []
    for new, (_, wanted), row in zip(fresh, matched, rows, strict=True):
        new.arrival.record.target_id = new.message_id
        if not wanted:
            continue
        message = SimpleNamespace(**row)  # the row as written; no ORM object is needed
        values = entry_values(
            message, owners=[account.owner_user_id], share=account.share_level,
            gone=new.arrival.record.deleted_at is not None,
            private_to=private.get(row["thread_id"]),
            participants=list(dict.fromkeys(a for _, a, _ in new.people)))
        for client_id, origin in wanted.items():
            links.append({"message_id": new.message_id, "client_id": client_id,
                          "origin": origin, "removed": False, "decided_by": None,
                          "created_at": now})
            entries.append({"client_id": client_id, "kind": "message", "source_kind": "mail",
                            "source_ref": f"mail:{new.message_id}", "created_at": now,
                            **values})
    _insert(session, MessageClientLink, links)
    _insert(session, TimelineEntry, entries)


def _thread_ids(session: Session, threads: _Threads, fresh: list[NewMessage]) -> dict[int, int]:
    """Stored thread ids for every node in use, creating the batch's new threads and
    moving each thread's last-message time forward."""
    last: dict[int, datetime] = {}
    first_subject: dict[int, str] = {}
    for new in fresh:
        if new.node not in last or new.sent_at > last[new.node]:
            last[new.node] = new.sent_at
        first_subject.setdefault(new.node, new.subject_key)
    created = [node for node in last if node < 0]
    ids = {node: node for node in last if node > 0}
    if created:
        conn = session.connection()
        made = reserve_ids(conn, _THREADS, len(created))
        now = utcnow()
        insert_rows(conn, _THREADS, [
            {"id": thread_id, "subject_key": first_subject[n],
             "last_message_at": last[n], "is_private": False, "private_by": None,
             "private_to": [], "created_at": now}
            for n, thread_id in zip(created, made, strict=True)])
        ids.update(zip(created, made, strict=True))
    later = [{"b_id": node, "b_when": when} for node, when in last.items() if node > 0]
    if later:  # stored threads that this batch's mail moves forward, in one executemany
        session.connection().execute(update(_THREADS).where(
            _THREADS.c.id == bindparam("b_id"),
            or_(_THREADS.c.last_message_at.is_(None),
                _THREADS.c.last_message_at < bindparam("b_when")),
        ).values(last_message_at=bindparam("b_when")), later)
    return ids


def _private(session: Session, thread_ids: set[int]) -> dict[int, list[int]]:
    """Stored threads among these that are private, with whom they are shown to."""
    if not thread_ids:
        return {}
    return {tid: list(to or []) for tid, to in session.execute(
        select(MailThread.id, MailThread.private_to).where(
            MailThread.id.in_(thread_ids), MailThread.is_private.is_(True))).all()}


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    insert_rows(session.connection(), model.__table__, rows)
