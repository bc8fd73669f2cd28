"""The access paths one by one, with their boundaries, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from hub.access.models import AccessRule
from hub.access.policy import Level, Principal, check, client_levels, scope_clients
from hub.clients.models import Client
from tests import factories as f

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def visible(session, user, at):
    stmt = scope_clients(select(Client.id), Principal.of(user), at)
    return set(session.scalars(stmt))


def level(session, user, client, at):
    grant = check(session, Principal.of(user), client.id, at)
    return grant.level if grant else Level.NONE


def test_nothing_is_visible_by_default(session):
    user, admin = f.user(session), f.user(session, admin=True)
    f.client(session)
    assert visible(session, user, T0) == set()
    assert visible(session, admin, T0) == set()


def test_own_responsibility_is_half_open(session):
    user, client = f.user(session), f.client(session)
    f.responsibility(session, user, client, start=T0, end=T0 + HOUR)
    assert visible(session, user, T0 - timedelta(microseconds=1)) == set()
    assert visible(session, user, T0) == {client.id}
    assert visible(session, user, T0 + HOUR - timedelta(microseconds=1)) == {client.id}
    assert visible(session, user, T0 + HOUR) == set()
    assert check(session, Principal.of(user), client.id, T0).reason == "own:asiakasvastaava"


def test_role_rule_sets_the_level_and_scope(session):
    user = f.user(session)
    group = f.group(session)
    inside, outside = f.client(session, group=group), f.client(session)
    session.execute(delete(AccessRule).where(AccessRule.role == "palkanlaskija"))
    f.rule(session, "role", "subject", role="palkanlaskija", group=group)
    f.responsibility(session, user, inside, role="palkanlaskija")
    f.responsibility(session, user, outside, role="palkanlaskija")
    assert client_levels(session, Principal.of(user), T0) == {inside.id: Level.SUBJECT}
    assert level(session, user, outside, T0) == Level.NONE


def test_highest_level_wins(session):
    user, client = f.user(session), f.client(session)
    session.execute(delete(AccessRule).where(AccessRule.role == "myyja"))
    f.rule(session, "role", "metadata", role="myyja")
    f.responsibility(session, user, client, role="myyja")
    assert level(session, user, client, T0) == Level.METADATA
    f.responsibility(session, user, client, role="kirjanpitaja")
    assert level(session, user, client, T0) == Level.FULL


def test_cover_starts_and_ends_by_itself(session):
    absent, covering, other = f.user(session), f.user(session), f.user(session)
    mine, theirs = f.client(session), f.client(session)
    f.responsibility(session, absent, mine)
    f.responsibility(session, other, theirs)
    f.cover(session, absent, covering, T0, T0 + 24 * HOUR)
    assert visible(session, covering, T0 - timedelta(seconds=1)) == set()
    assert visible(session, covering, T0) == {mine.id}
    assert check(session, Principal.of(covering), mine.id, T0).reason == f"cover:{absent.id}"
    assert visible(session, covering, T0 + 24 * HOUR) == set()


def test_cover_follows_only_valid_responsibilities_of_the_absent(session):
    absent, covering = f.user(session), f.user(session)
    current, ended = f.client(session), f.client(session)
    f.responsibility(session, absent, current)
    f.responsibility(session, absent, ended, end=T0)
    f.cover(session, absent, covering, T0 - HOUR, T0 + HOUR)
    assert visible(session, covering, T0) == {current.id}


def test_cover_has_the_absent_users_level(session):
    absent, covering, client = f.user(session), f.user(session), f.client(session)
    session.execute(delete(AccessRule).where(AccessRule.role == "myyja"))
    f.rule(session, "role", "subject", role="myyja")
    f.responsibility(session, absent, client, role="myyja")
    f.cover(session, absent, covering, T0 - HOUR, T0 + HOUR)
    assert level(session, covering, client, T0) == Level.SUBJECT


def test_narrowed_cover_shows_only_named_clients(session):
    absent, covering = f.user(session), f.user(session)
    named, unnamed = f.client(session), f.client(session)
    f.responsibility(session, absent, named)
    f.responsibility(session, absent, unnamed)
    f.cover(session, absent, covering, T0 - HOUR, T0 + HOUR, clients=[named])
    assert visible(session, covering, T0) == {named.id}
    assert level(session, covering, unnamed, T0) == Level.NONE


def test_covers_do_not_chain(session):
    a, b, c = f.user(session), f.user(session), f.user(session)
    client = f.client(session)
    f.responsibility(session, a, client)
    f.cover(session, a, b, T0 - HOUR, T0 + HOUR)
    f.cover(session, b, c, T0 - HOUR, T0 + HOUR)
    assert visible(session, b, T0) == {client.id}
    assert visible(session, c, T0) == set()


def test_cover_of_a_deactivated_user_grants_nothing(session):
    absent, covering, client = f.user(session), f.user(session), f.client(session)
    f.responsibility(session, absent, client)
    f.cover(session, absent, covering, T0 - HOUR, T0 + HOUR)
    absent.is_active = False
    session.flush()
    assert visible(session, covering, T0) == set()
    assert level(session, covering, client, T0) == Level.NONE


def test_inactive_principal_sees_nothing(session):
    user, client = f.user(session), f.client(session)
    f.responsibility(session, user, client)
    user.is_active = False
    session.flush()
    assert visible(session, user, T0) == set()
    assert level(session, user, client, T0) == Level.NONE


def test_admin_sees_client_data_only_through_a_rule(session):
    admin, plain = f.user(session, admin=True), f.user(session)
    special = f.special(session)
    labelled, other = f.client(session, specials=[special]), f.client(session)
    assert visible(session, admin, T0) == set()
    rule = f.rule(session, "admin", "metadata", special=special)
    assert visible(session, admin, T0) == {labelled.id}
    assert visible(session, plain, T0) == set()
    assert check(session, Principal.of(admin), labelled.id, T0).reason == f"rule:{rule.id}"
    assert level(session, admin, other, T0) == Level.NONE


def test_staff_rule_reaches_every_active_user(session):
    user, client = f.user(session), f.client(session)
    f.rule(session, "staff", "metadata")
    assert client_levels(session, Principal.of(user), T0) == {client.id: Level.METADATA}


def test_none_rule_grants_nothing(session):
    user, client = f.user(session), f.client(session)
    session.execute(delete(AccessRule).where(AccessRule.role == "myyja"))
    f.rule(session, "role", "none", role="myyja")
    f.responsibility(session, user, client, role="myyja")
    assert visible(session, user, T0) == set()


def test_deleting_the_only_named_client_does_not_widen_a_cover(session):
    absent, covering = f.user(session), f.user(session)
    named, other = f.client(session), f.client(session)
    f.responsibility(session, absent, named)
    f.responsibility(session, absent, other)
    f.cover(session, absent, covering, T0 - HOUR, T0 + HOUR, clients=[named])
    session.delete(named)
    session.flush()
    session.expire_all()
    assert visible(session, covering, T0) == set()
    assert level(session, covering, other, T0) == Level.NONE
