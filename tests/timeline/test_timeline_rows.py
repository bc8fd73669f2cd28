"""The client page's timeline rows: a mail thread is one row at its newest message, not
repeated on later pages; notes carry their author's and mentioned colleagues' names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.access.policy import Principal
from hub.timeline.models import Mention, TimelineEntry
from hub.timeline.rows import timeline_rows
from tests import factories as f

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _mail(session, mailbox, client, when, thread_id=None):
    message = f.message(session, mailbox, to=client, sent_at=when)
    if thread_id is not None:
        message.thread_id = thread_id
    entry = session.scalar(select(TimelineEntry).where(
        TimelineEntry.source_ref == f"mail:{message.id}"))
    entry.occurred_at, entry.title = when, "Palkat"
    entry.extra = {"message_id": message.id, "participants": [f"p{message.id}@x.test"]}
    return message


def test_a_thread_is_one_row_at_its_newest_message_across_pages(session):
    reader = f.user(session, name="Liisa Laine")
    mikko = f.user(session, name="Mikko Mäkinen")
    client = f.client(session)
    f.responsibility(session, reader, client)
    mailbox = f.account(session, reader)
    # The thread's oldest message sits below the first page, its newest at the top.
    oldest = _mail(session, mailbox, client, NOW - timedelta(days=30))
    for n in range(5):
        session.add(TimelineEntry(client_id=client.id, kind="note", source_ref=f"n{n}",
                                  occurred_at=NOW - timedelta(days=10 - n), title=f"n{n}",
                                  body=f"n{n}\nteksti", actor_user_id=reader.id,
                                  mentions=[Mention(user_id=mikko.id)]))
    _mail(session, mailbox, client, NOW - timedelta(days=1), oldest.thread_id)
    _mail(session, mailbox, client, NOW - timedelta(days=20), oldest.thread_id)
    session.commit()
    principal = Principal(reader.id)

    first = timeline_rows(session, principal, client.id, NOW, limit=4)
    assert [r.kind for r in first.rows] == ["thread", "note", "note", "note"]
    thread = first.rows[0]
    assert thread.thread_id == oldest.thread_id and thread.messages == 3
    assert thread.occurred_at == NOW - timedelta(days=1)
    note = first.rows[1]
    assert (note.author, note.mentioned, note.text) == ("Liisa Laine", ["Mikko Mäkinen"],
                                                       "teksti")
    rest = []
    cursor = first.next
    while cursor:
        page = timeline_rows(session, principal, client.id, NOW, limit=4, before=cursor)
        rest += page.rows
        cursor = page.next
    assert [r.kind for r in rest] == ["note", "note"]  # the thread's older mail: not again
    assert [r.kind for r in timeline_rows(session, principal, client.id, NOW,
                                          show="mail").rows] == ["thread"]
