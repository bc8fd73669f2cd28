"""My work's services on both databases: what changed since the last look, notes that
mention me, and mail waiting in my own mailboxes - each within what the policy shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.access.policy import Principal
from hub.mail.models import MailCopy
from hub.mail.waiting import unmatched_mail
from hub.timeline.changes import changes_since_last_look
from hub.timeline.mentions import notes_mentioning
from hub.timeline.schemas import NoteIn
from hub.timeline.service import add_note
from tests import factories as f


def _firm(session):
    liisa, mikko, outi = (f.user(session, name=n) for n in ("Liisa", "Mikko", "Outi"))
    f.rule(session, "role", "full", role="asiakasvastaava")
    own, covered, hidden = (f.client(session, name=n) for n in ("Oma Oy", "Mikon Oy",
                                                                 "Outin Oy"))
    f.responsibility(session, liisa, own)
    f.responsibility(session, mikko, covered)
    f.responsibility(session, outi, hidden)
    now = datetime.now(UTC)
    f.cover(session, mikko, liisa, now - timedelta(days=1), now + timedelta(days=5))
    session.commit()
    return liisa, mikko, outi, own, covered, hidden


def _counts(changes):
    return [(c.client_name, c.count) for c in changes.clients]


def test_changes_count_what_came_since_the_last_look_and_looking_marks_it_seen(session):
    liisa, _mikko, outi, own, covered, hidden = _firm(session)
    me = Principal.of(liisa)
    first = changes_since_last_look(session, me, datetime.now(UTC))
    assert first.since is None and first.clients == []
    f.entry(session, covered)
    f.entry(session, own, kind="message", source_kind="mail")
    f.entry(session, own)
    private = f.entry(session, own, kind="message", source_kind="mail", owner=outi.id)
    private.is_private = True  # a colleague's private thread: not mine to count
    f.entry(session, hidden)  # a client I do not see
    add_note(session, me, own.id, NoteIn(text="Oma muistiinpano"), datetime.now(UTC))
    session.commit()

    peek = changes_since_last_look(session, me, datetime.now(UTC), mark_seen=False)
    assert _counts(peek) == [("Oma Oy", 2), ("Mikon Oy", 1)]
    assert peek.since is not None
    assert dict(peek.clients[0].kinds) == {"message": 1, "note": 1}
    assert _counts(changes_since_last_look(session, me, datetime.now(UTC))) == _counts(peek)
    session.commit()
    assert changes_since_last_look(session, me, datetime.now(UTC)).clients == []
    audited = session.scalars(select(AuditEntry.client_id).where(
        AuditEntry.action == "timeline.changes")).all()
    assert sorted(audited) == sorted([own.id, covered.id] * 2)


def test_a_mention_shows_only_on_a_client_i_may_see(session):
    liisa, mikko, outi, _own, covered, hidden = _firm(session)
    at = datetime.now(UTC)
    add_note(session, Principal.of(mikko), covered.id, NoteIn(text="@liisa katso palkat"), at)
    add_note(session, Principal.of(outi), hidden.id, NoteIn(text="@liisa salaista"), at)
    session.commit()
    found = notes_mentioning(session, Principal.of(liisa), at)
    assert [(n.client_name, n.author_name, n.summary) for n in found] == [
        ("Mikon Oy", "Mikko", "@liisa katso palkat")]
    # When the cover has ended, the note on Mikko's client is not hers to read any more.
    assert notes_mentioning(session, Principal.of(liisa), at + timedelta(days=6)) == []


def test_waiting_mail_is_my_unlinked_external_mail(session):
    liisa, mikko, _outi, own, _covered, _hidden = _firm(session)
    mine = f.account(session, liisa, kind="mail_archive")
    waiting = f.message(session, mine)
    f.message(session, mine, to=own)  # matched
    gone = f.message(session, mine)
    session.execute(MailCopy.__table__.update().where(MailCopy.message_id == gone.id)
                    .values(deleted_at=datetime.now(UTC)))
    f.message(session, f.account(session, mikko, kind="mail_archive"))  # a colleague's
    session.commit()
    found = unmatched_mail(session, Principal.of(liisa))
    assert [(m.message_id, m.thread_id) for m in found.messages] == [
        (waiting.id, waiting.thread_id)]
    assert found.total == 1
