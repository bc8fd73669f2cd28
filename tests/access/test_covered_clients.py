"""My work's "clients I cover now": each client a running cover shows, with whose client
it is and until when, by exactly the paths the access policy follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.access.policy import Principal, covered_client_ids
from hub.access.service import covered_clients
from tests import factories as f

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def test_running_covers_name_the_absent_colleague_and_the_end(session):
    liisa, mikko, outi = (f.user(session, name=n) for n in ("Liisa", "Mikko", "Outi"))
    f.rule(session, "role", "full", role="asiakasvastaava")
    mikkos = [f.client(session, name=f"Mikon {n} Oy") for n in range(3)]
    for client in mikkos:
        f.responsibility(session, mikko, client)
    outis = f.client(session, name="Outin Oy")
    f.responsibility(session, outi, outis)
    ended = f.client(session, name="Päättynyt Oy")
    f.responsibility(session, mikko, ended, end=NOW - timedelta(days=1))
    f.cover(session, mikko, liisa, NOW - timedelta(days=1), NOW + timedelta(days=7))
    f.cover(session, outi, liisa, NOW - timedelta(hours=1), NOW + timedelta(days=2),
            clients=[outis])
    f.cover(session, outi, liisa, NOW + timedelta(days=3), NOW + timedelta(days=9))  # later
    f.cover(session, mikko, outi, NOW - timedelta(days=9), NOW - timedelta(days=2))  # over
    session.flush()

    found = covered_clients(session, Principal.of(liisa), NOW)
    assert [(c.client.name, c.absent_name, c.valid_until) for c in found] == [
        ("Outin Oy", "Outi", NOW + timedelta(days=2)),
        *[(c.name, "Mikko", NOW + timedelta(days=7)) for c in mikkos],
    ]
    listed = set(session.scalars(covered_client_ids(Principal.of(liisa), NOW)))
    assert {c.client.id for c in found} == listed
    assert covered_clients(session, Principal.of(outi), NOW) == []
    mikko.is_active = False  # a departed colleague's clients need a new responsible person
    session.flush()
    assert [c.client.name for c in covered_clients(session, Principal.of(liisa), NOW)] == [
        "Outin Oy"]
