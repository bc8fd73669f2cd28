"""Passwords and web sessions: argon2 hashes set by an admin (on the audit trail, never
the password), the sign-in check with its rate limit in the database, and sessions that
end by idleness, by age, at a password reset and at once on deactivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from hub.access.models import AuditEntry
from hub.access.policy import Principal
from hub.errors import AuthenticationFailed, InvalidInput, PermissionDenied, TooManyAttempts
from hub.settings import Settings
from hub.staff import passwords, web_sessions
from hub.staff.models import LoginFailure, User, WebSession
from hub.staff.service import deactivate_user, update_user
from hub.staff.web_sessions import SessionEnded
from tests import factories as f

SECRET = "kolme pientä sanaa"
SETTINGS = Settings(login_failures_per_email=3, login_failures_per_address=5,
                    login_lockout_minutes=15, web_session_idle_minutes=30,
                    web_session_max_hours=8)
T0 = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def _sign_in(session, user, password=SECRET, *, at=T0, address="10.0.0.1"):
    return passwords.sign_in(session, email=user.email, password=password, address=address,
                             now=at, settings=SETTINGS)


@pytest.fixture
def liisa(session):
    admin = f.user(session, admin=True)
    user = f.user(session, name="Liisa Laine")
    passwords.set_password(session, Principal.of(admin), user, SECRET)
    session.commit()
    return user


def test_an_admin_sets_a_password_on_the_trail_without_the_password(session):
    admin, user = f.user(session, admin=True), f.user(session)
    passwords.set_password(session, Principal.of(admin), user, SECRET)
    passwords.set_password(session, None, user, SECRET + "!")
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    rows = session.execute(select(AuditEntry.actor_user_id, AuditEntry.detail)
                           .where(AuditEntry.action == "user.set_password")
                           .order_by(AuditEntry.id)).all()
    assert rows == [(admin.id, {"user_id": user.id}),
                    (None, {"user_id": user.id, "via": "command line"})]
    everything = " ".join(str(d) for d in session.scalars(select(AuditEntry.detail)))
    assert SECRET not in everything and "argon2" not in everything
    with pytest.raises(PermissionDenied):
        passwords.set_password(session, Principal.of(user), user, SECRET)
    with pytest.raises(InvalidInput, match="at least 10"):
        passwords.set_password(session, Principal.of(admin), user, "short")


def test_the_right_password_signs_in_and_only_the_session_id_hash_is_kept(session, liisa):
    session_id = _sign_in(session, liisa)
    session.commit()
    stored = session.scalar(select(WebSession.session_hash))
    assert stored is not None and session_id not in stored and len(session_id) >= 40
    viewer = web_sessions.authenticate(session, session_id, T0 + timedelta(minutes=5), SETTINGS)
    assert viewer.principal == Principal(liisa.id, is_admin=False, is_active=True)
    assert (viewer.name, viewer.locale) == ("Liisa Laine", "fi")
    assert web_sessions.csrf_matches(viewer, viewer.csrf_token)
    assert not web_sessions.csrf_matches(viewer, viewer.csrf_token[:-1] + "x")
    assert not web_sessions.csrf_matches(viewer, None)
    audit = session.scalar(select(AuditEntry.actor_user_id).where(
        AuditEntry.action == "user.sign_in"))
    assert audit == liisa.id


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "deactivated",
                                  "no password"])
def test_every_refusal_reads_the_same_and_is_counted(session, liisa, case):
    user = liisa
    if case == "unknown email":
        user = User(email="nobody@firm.test", name="")
    elif case == "deactivated":
        liisa.is_active = False
    elif case == "no password":
        liisa.password_hash = None
    session.commit()
    with pytest.raises(AuthenticationFailed) as refused:
        _sign_in(session, user, SECRET if case != "wrong password" else "väärä salasana")
    assert refused.value.message == ("the email or password is wrong; check both and try "
                                     "again")
    session.rollback()  # the request fails; the failure was committed before it did
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1


def test_failures_per_email_lock_it_until_the_oldest_leaves_the_window(session, liisa):
    for minute in range(2):
        with pytest.raises(AuthenticationFailed):
            _sign_in(session, liisa, "väärä salasana", at=T0 + timedelta(minutes=minute))
    with pytest.raises(TooManyAttempts) as third:
        _sign_in(session, liisa, "väärä salasana", at=T0 + timedelta(minutes=2))
    # Locked while three failures are within 15 minutes: until the first is 15 minutes old.
    assert third.value.retry_at == T0 + timedelta(minutes=15)
    with pytest.raises(TooManyAttempts):
        _sign_in(session, liisa, at=T0 + timedelta(minutes=14, seconds=59))
    assert _sign_in(session, liisa, at=T0 + timedelta(minutes=15))
    session.commit()
    # The right password cleared the email's count; another colleague was never locked.
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_failures_from_one_address_lock_every_email_from_it(session, liisa):
    for n in range(5):
        with pytest.raises(AuthenticationFailed):
            passwords.sign_in(session, email=f"guess{n}@firm.test", password="x" * 10,
                              address="10.9.9.9", now=T0, settings=SETTINGS)
    with pytest.raises(TooManyAttempts):
        _sign_in(session, liisa, address="10.9.9.9", at=T0 + timedelta(minutes=1))
    assert _sign_in(session, liisa, address="10.0.0.1", at=T0 + timedelta(minutes=1))


def test_a_session_ends_when_idle_and_when_old_however_busy(session, liisa):
    idle = _sign_in(session, liisa)
    busy = _sign_in(session, liisa)
    session.commit()
    at = T0
    for _ in range(15):  # a request every 29 minutes keeps it alive until 8 hours
        at += timedelta(minutes=29)
        web_sessions.authenticate(session, busy, at, SETTINGS)
    with pytest.raises(SessionEnded):
        web_sessions.authenticate(session, busy, T0 + timedelta(hours=8), SETTINGS)
    with pytest.raises(SessionEnded):
        web_sessions.authenticate(session, idle, T0 + timedelta(minutes=30), SETTINGS)
    session.commit()
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_deactivation_and_a_reset_end_the_sessions_at_once(session, liisa):
    admin = Principal.of(session.scalar(select(User).where(User.is_admin.is_(True))))
    first = _sign_in(session, liisa)
    session.commit()
    update_user(session, admin, liisa, is_active=False)
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    with pytest.raises(SessionEnded):
        web_sessions.authenticate(session, first, T0, SETTINGS)
    update_user(session, admin, liisa, is_active=True)
    second = _sign_in(session, liisa)
    deactivate_user(session, admin, liisa)
    with pytest.raises(SessionEnded):
        web_sessions.authenticate(session, second, T0, SETTINGS)
    update_user(session, admin, liisa, is_active=True)
    third = _sign_in(session, liisa)
    passwords.set_password(session, admin, liisa, SECRET + " uusi")
    with pytest.raises(SessionEnded):
        web_sessions.authenticate(session, third, T0, SETTINGS)


def test_the_lookup_refuses_a_deactivated_user_whose_rows_remain(session, liisa):
    """Deactivated by any path (here a bare UPDATE): the lookup joins ``is_active``."""
    session_id = _sign_in(session, liisa)
    session.execute(update(User).where(User.id == liisa.id).values(is_active=False))
    session.commit()
    assert session.scalar(select(func.count()).select_from(WebSession)) == 1
    with pytest.raises(SessionEnded):
        web_sessions.authenticate(session, session_id, T0, SETTINGS)
