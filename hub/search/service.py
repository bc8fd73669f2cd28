"""Searching everything a person may see, in one call.

Access is decided as everywhere else: the clients and their levels come from
:func:`hub.access.policy.client_levels`, and each mail, note or folder found is shown at
the level :mod:`hub.access.visibility` gives it - the level a single read of it gives.
Client facts and contacts show at any level; file names and the titles of mail and
notes from ``subject`` up; the text of mail and notes at ``full``. A hit shown at
``subject`` was found by its title alone, so that a search never tells a reader what a
text they may not read contains. A client the searcher may not see yields nothing, as if
it were not there.

The SQL narrows candidates coarsely (by the client's level, or the searcher owning the
mailbox or drive); the level of each candidate is then decided exactly in Python. Each
search is one audit row: how long the query was and what was shown, not the words
searched for (they may name a person, and the audit trail keeps everything forever).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, Dialect, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level
from hub.access.policy import Principal, client_levels
from hub.access.visibility import entry_level, stored_entry_level
from hub.accounts.models import Account
from hub.clients.models import Client, Contact, ContactEmail
from hub.db import utcnow
from hub.drive.models import ClientRoot, DriveFolder
from hub.errors import InvalidInput
from hub.mail.models import MailCopy, MailMessage, MessageClientLink
from hub.search.query import Query, holds, matches
from hub.search.schemas import KINDS, HitOut, Kind, hit
from hub.timeline.models import TimelineEntry

MAX_LIMIT = 50
#: Enough of a mail's text to find the passage that matched.
PASSAGE_SOURCE = 20_000


@dataclass(slots=True)
class _Search:
    session: Session
    dialect: Dialect
    principal: Principal
    query: Query
    limit: int
    levels: dict[int, Level]
    names: dict[int, str]

    def clients(self, at_least: Level) -> list[int]:
        return sorted(cid for cid, level in self.levels.items() if level >= at_least)

    def client(self, client_id: int) -> tuple[int, str]:
        return client_id, self.names[client_id]

    def matches(self, source: str, id_column: Any, *,
                title_only: bool = False) -> ColumnElement[bool]:
        return matches(self.dialect, source, id_column, self.query, title_only=title_only)


def _ids(values: list[Any]) -> Any:
    return bindparam(None, values, expanding=True)


def _clients(s: _Search) -> list[HitOut]:
    ids = s.clients(Level.METADATA)
    if not ids:
        return []
    rows = s.session.execute(
        select(Client.id, Client.name, Client.business_id)
        .where(s.matches("search_clients" if s.dialect.name == "sqlite" else "clients",
                         Client.id), Client.id.in_(_ids(ids)))
        .order_by(Client.name_key, Client.id).limit(s.limit)).all()
    return [hit("client", (cid, name), cid, name,
                s.query.marked(" · ".join(filter(None, (name, business_id)))),
                f"/clients/{cid}") for cid, name, business_id in rows]


def _contacts(s: _Search) -> list[HitOut]:
    ids = s.clients(Level.METADATA)
    if not ids:
        return []
    if s.dialect.name == "sqlite":
        found = s.matches("search_contacts", Contact.id)
    else:  # a contact's addresses are a table of their own, with their own vector
        by_address = select(ContactEmail.contact_id).where(
            s.matches("contact_emails", ContactEmail.id))
        found = or_(s.matches("contacts", Contact.id), Contact.id.in_(by_address))
    rows = s.session.execute(
        select(Contact.id, Contact.client_id, Contact.name, Contact.role)
        .where(found, Contact.client_id.in_(_ids(ids)))
        .order_by(Contact.name, Contact.id).limit(s.limit)).all()
    emails: dict[int, list[str]] = {}
    if rows:
        for contact_id, email in s.session.execute(
                select(ContactEmail.contact_id, ContactEmail.email)
                .where(ContactEmail.contact_id.in_(_ids([r.id for r in rows])))
                .order_by(ContactEmail.id)):
            emails.setdefault(contact_id, []).append(email)
    return [hit("contact", s.client(r.client_id), r.id, r.name,
                s.query.marked(" · ".join(filter(None, (r.name, r.role,
                                                        *emails.get(r.id, []))))),
                f"/clients/{r.client_id}#contacts") for r in rows]


_ENTRY = [TimelineEntry.id, TimelineEntry.client_id, TimelineEntry.occurred_at,
          TimelineEntry.owner_user_id, TimelineEntry.owner_ids, TimelineEntry.share_level,
          TimelineEntry.is_private, TimelineEntry.private_to]


def _candidates(s: _Search, statement: Callable[[bool], Any]) -> Iterable[Any]:
    """Rows that may be shown: those matching anywhere on clients seen in full (or owned
    by the searcher), and those matching by their title on clients seen from ``subject``
    up; the same row may come twice."""
    yield from s.session.execute(statement(False)).all()
    yield from s.session.execute(statement(True)).all()


def _shown(s: _Search, row: Any, title: str) -> Level:
    """The level ``row`` (a stored entry's access columns) is shown at in the results:
    its level, but ``none`` for a ``subject`` one that its title does not match."""
    level = stored_entry_level(row, s.levels[row.client_id], s.principal.user_id)
    if level == Level.SUBJECT and not s.query.found_in(title):
        return Level.NONE
    return level if level >= Level.SUBJECT else Level.NONE


def _reach(s: _Search, client_id: Any, title_only: bool) -> ColumnElement[bool]:
    """The timeline entries worth asking about: on clients seen from ``subject`` up when
    only titles are searched; else on clients seen in full, or whose source the searcher
    owns (an owner sees it in full on any client they see)."""
    if title_only:
        return or_(client_id.in_(_ids(s.clients(Level.SUBJECT))))
    return or_(client_id.in_(_ids(s.clients(Level.FULL))),
               and_(client_id.in_(_ids(s.clients(Level.METADATA))),
                    or_(TimelineEntry.owner_user_id == s.principal.user_id,
                        holds(s.dialect, TimelineEntry.owner_ids, s.principal.user_id))))


def _notes(s: _Search) -> list[HitOut]:
    if not s.levels:
        return []

    def statement(title_only: bool) -> Any:
        source = "search_notes" if s.dialect.name == "sqlite" else "timeline_entries"
        return (select(*_ENTRY, TimelineEntry.title,
                       func.substr(TimelineEntry.body, 1, PASSAGE_SOURCE).label("body"))
                .where(TimelineEntry.kind == "note",
                       s.matches(source, TimelineEntry.id, title_only=title_only),
                       _reach(s, TimelineEntry.client_id, title_only))
                .order_by(TimelineEntry.id.desc())
                .limit(s.limit))

    best: dict[int, tuple[Level, Any]] = {}
    for row in _candidates(s, statement):
        level = _shown(s, row, row.title)
        if level > Level.NONE:
            best[row.id] = (level, row)
    hits = []
    for level, row in best.values():
        text = row.body if level >= Level.FULL else row.title
        hits.append(hit("note", s.client(row.client_id), row.id, row.title,
                        s.query.marked(text), f"/clients/{row.client_id}#entry-{row.id}",
                        row.occurred_at))
    return _newest(hits, s.limit)


def _messages(s: _Search) -> list[HitOut]:
    if not s.levels:
        return []
    uid = s.principal.user_id
    # The searcher's own copy: an owner reads their mail in full on any client they see.
    own_copy = (select(MailCopy.id).join(Account, Account.id == MailCopy.account_id)
                .where(MailCopy.message_id == MailMessage.id, Account.owner_user_id == uid)
                .exists())

    def statement(title_only: bool) -> Any:
        source = "search_mail" if s.dialect.name == "sqlite" else "mail_messages"
        client = MessageClientLink.client_id
        reach = (client.in_(_ids(s.clients(Level.SUBJECT))) if title_only else
                 or_(client.in_(_ids(s.clients(Level.FULL))),
                     and_(client.in_(_ids(s.clients(Level.METADATA))), own_copy)))
        return (select(MailMessage.id, MessageClientLink.client_id, MailMessage.thread_id,
                       MailMessage.subject, MailMessage.sent_at,
                       func.substr(MailMessage.text, 1, PASSAGE_SOURCE).label("text"))
                .join(MessageClientLink, and_(MessageClientLink.message_id == MailMessage.id,
                                              MessageClientLink.removed.is_(False)))
                .where(s.matches(source, MailMessage.id, title_only=title_only), reach)
                # Newest filed first: the order of the index, so the database stops
                # reading at the limit however many messages match.
                .order_by(MailMessage.id.desc())
                .limit(s.limit * 2))  # a message comes once for each of its clients

    rows = {(row.id, row.client_id): row for row in _candidates(s, statement)}
    # Each (message, client)'s timeline entry holds who may see it at which level.
    entries = {(int(e.source_ref.removeprefix("mail:")), e.client_id): e
               for e in s.session.execute(
                   select(*_ENTRY, TimelineEntry.source_ref)
                   .where(TimelineEntry.client_id.in_(_ids(sorted({c for _, c in rows}))),
                          TimelineEntry.source_kind == "mail",
                          TimelineEntry.source_ref.in_(_ids(
                              sorted({f"mail:{m}" for m, _ in rows})))))} if rows else {}
    # One hit per message, at the widest level any of its clients shows it at (as
    # reading the message gives).
    best: dict[int, tuple[Level, Any]] = {}
    for key, row in rows.items():
        entry = entries.get(key)
        if entry is None:
            continue
        level = _shown(s, entry, row.subject)
        if level > best.get(row.id, (Level.NONE, None))[0]:
            best[row.id] = (level, row)
    hits = []
    for level, row in best.values():
        text = row.text if level >= Level.FULL and s.query.found_in(row.text) else row.subject
        hits.append(hit("message", s.client(row.client_id), row.id, row.subject,
                        s.query.marked(text), f"/threads/{row.thread_id}#message-{row.id}",
                        row.sent_at))
    return _newest(hits, s.limit)


def _files(s: _Search) -> list[HitOut]:
    if not s.levels:
        return []
    source = "search_files" if s.dialect.name == "sqlite" else "drive_folders"
    rows = s.session.execute(
        select(DriveFolder.id, DriveFolder.client_id, DriveFolder.account_id,
               DriveFolder.path, DriveFolder.files, DriveFolder.modified,
               Account.owner_user_id, Account.share_level)
        .join(Account, Account.id == DriveFolder.account_id)
        .where(s.matches(source, DriveFolder.id), DriveFolder.deleted_at.is_(None),
               or_(DriveFolder.client_id.in_(_ids(s.clients(Level.SUBJECT))),
                   and_(DriveFolder.client_id.in_(_ids(s.clients(Level.METADATA))),
                        Account.owner_user_id == s.principal.user_id)))
        .order_by(DriveFolder.path, DriveFolder.id).limit(s.limit)).all()
    roots = _roots(s.session, {(r.account_id, r.client_id) for r in rows})
    hits = []
    for row in rows:
        # File names show from the subject level up, capped by what the drive shares.
        level = entry_level(s.levels[row.client_id], reader_id=s.principal.user_id,
                            owner_ids={row.owner_user_id}, share_level=row.share_level)
        names = [f.name for f in row.files if s.query.found_in(f.name)]
        if level < Level.SUBJECT or not names:
            continue
        root = roots.get((row.account_id, row.client_id), "")
        below = row.path[len(root):] if row.path.startswith(root) else ""
        link = f"/clients/{row.client_id}/files" + (f"?path={quote(below)}" if below else "")
        hits.append(hit("file", s.client(row.client_id), row.id, ", ".join(names[:3]),
                        s.query.marked(row.path or "/"), link, row.modified))
    return hits


def _roots(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The root folder of each (drive, client): links open a folder below it."""
    if not pairs:
        return {}
    found: dict[tuple[int, int], str] = {}
    for account_id, client_id, path in session.execute(
            select(ClientRoot.account_id, ClientRoot.client_id, ClientRoot.path)
            .where(ClientRoot.client_id.in_(_ids(sorted({c for _, c in pairs}))))
            .order_by(ClientRoot.path)):
        if client_id is not None:
            found.setdefault((account_id, client_id), path)
    return found


def _newest(hits: list[HitOut], limit: int) -> list[HitOut]:
    epoch = datetime.min
    return sorted(hits, key=lambda h: (h.occurred_at or epoch).replace(tzinfo=None),
                  reverse=True)[:limit]


_FINDERS: dict[Kind, Callable[[_Search], list[HitOut]]] = {
    "client": _clients, "contact": _contacts, "message": _messages, "note": _notes,
    "file": _files,
}


def search(session: Session, principal: Principal, query: str, *, limit: int = 10,
           kinds: Iterable[str] | None = None, at: datetime | None = None) -> list[HitOut]:
    """What ``query`` finds among the clients ``principal`` may see at ``at`` (now): up
    to ``limit`` hits of each kind, in the order of :data:`KINDS`. Audited."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    wanted = list(KINDS) if kinds is None else [k for k in KINDS if k in set(kinds)]
    unknown = set(kinds or ()) - set(KINDS)
    if unknown:
        raise InvalidInput(f"kinds must be among {', '.join(KINDS)}", field="kinds")
    parsed = Query.parse(query)
    if not parsed:
        return []
    at = at or utcnow()
    levels = client_levels(session, principal, at)
    names: dict[int, str] = {cid: name for cid, name in session.execute(
        select(Client.id, Client.name).where(Client.id.in_(_ids(sorted(levels)))))}
    s = _Search(session, session.connection().dialect, principal, parsed, limit,
                levels, names)
    hits = [h for kind in wanted for h in _FINDERS[kind](s)]
    audit.record(session, actor_user_id=principal.user_id, action="search",
                 detail={"query_length": len(query), "kinds": wanted,
                         "hits": [[h.kind, h.client_id, h.ref] for h in hits]},
                 own_transaction=True)
    return hits


__all__ = ["MAX_LIMIT", "search"]
