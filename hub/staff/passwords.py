"""Passwords for the web view: argon2 hashes, an admin's set or reset, a user's change of
their own, and the check at sign-in with its rate limit.

A refused sign-in is counted per email (as typed, whether or not such a user exists) and
per client address, in the database, so that every server process counts the same.
Once either count reaches its limit within ``login_lockout_minutes``, signing in is
refused - the right password too - until enough failures have aged out of the window;
the refusal says when that is.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hub.access import audit
from hub.access.policy import Principal, require_admin_or_server
from hub.errors import AuthenticationFailed, InvalidInput, TooManyAttempts
from hub.settings import Settings
from hub.staff import web_sessions
from hub.staff.models import LoginFailure, User

#: Length bounds, in characters: long enough to resist guessing; the upper bound only
#: keeps a request from making the server hash megabytes.
MIN_LENGTH = 10
MAX_LENGTH = 1024

# argon2id with the library's defaults (RFC 9106's second recommended set: 64 MiB, three
# passes); about 50 ms on an old laptop, and a hash from older defaults is upgraded at
# the next sign-in.
_hasher = PasswordHasher()
# Checked against when no user (or no password) matches, so that a refusal takes as long
# whether or not the email is known.
_STAND_IN = _hasher.hash("stand-in for an unknown user, never matched")


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters; a few "
                           "unrelated words make a good one", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password may have at most {MAX_LENGTH} characters",
                           field="password")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def set_password(session: Session, principal: Principal | None, user: User,
                 password: str) -> None:
    """Set or reset ``user``'s password, by an admin or the command line (``None``). The
    user's web sessions end (a reset is often made because the old one leaked); the audit
    trail records who set whose password, never the password."""
    require_admin_or_server(principal)
    user.password_hash = hash_password(password)
    session.flush()
    web_sessions.end_all(session, user.id)
    audit.record_by(session, principal, "user.set_password", detail={"user_id": user.id})


def change_own_password(session: Session, principal: Principal, *, current: str, new: str,
                        keeping_session: int, address: str, now: datetime,
                        settings: Settings) -> None:
    """The signed-in user changes their own password, proving the ``current`` one first.

    A wrong current password counts as a refused sign-in for the user's email and the
    address (so a borrowed session cannot guess it faster than the sign-in page can) and
    is refused as :class:`~hub.errors.InvalidInput` on ``current_password``. The user's
    other web sessions end; the one that changed it (``keeping_session``) stays. The
    audit trail records the change, never the password."""
    user = session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("you are not signed in; sign in to continue")
    until = throttled_until(session, email=user.email, address=address, now=now,
                            settings=settings)
    if until is not None:
        raise _too_many(until)
    if user.password_hash is None or not _matches(user.password_hash, current):
        _record_failure(session, user.email, address[:64], now, settings)
        raise InvalidInput("the current password is wrong; type the one you signed in with",
                           field="current_password")
    check_policy(new)
    user.password_hash = _hasher.hash(new)
    session.flush()
    web_sessions.end_others(session, user.id, keeping_session)
    audit.record_by(session, principal, "user.change_own_password",
                    detail={"user_id": user.id})


def _refused() -> AuthenticationFailed:
    return AuthenticationFailed("the email or password is wrong; check both and try again")


def _clean(email: str) -> str:
    return email.strip().lower()[:320]


def _throttled_until(session: Session, column: InstrumentedAttribute[str], value: str, limit: int,
                     now: datetime, window: timedelta) -> datetime | None:
    """When the ``limit``-th newest failure in the window leaves it, if there are as many."""
    newest = session.scalar(
        select(LoginFailure.at)
        .where(column == value, LoginFailure.at > now - window)
        .order_by(LoginFailure.at.desc()).offset(limit - 1).limit(1))
    return newest + window if newest is not None else None


def throttled_until(session: Session, *, email: str, address: str, now: datetime,
                    settings: Settings) -> datetime | None:
    """Until when signing in as ``email`` from ``address`` is refused; None: it is not."""
    window = timedelta(minutes=settings.login_lockout_minutes)
    until = [t for t in (
        _throttled_until(session, LoginFailure.email, _clean(email),
                         settings.login_failures_per_email, now, window),
        _throttled_until(session, LoginFailure.address, address[:64],
                         settings.login_failures_per_address, now, window),
    ) if t is not None]
    return max(until) if until else None


def _too_many(until: datetime) -> TooManyAttempts:
    return TooManyAttempts("too many refused sign-ins; wait until "
                           f"{until.isoformat(timespec='minutes')} and try again", until)


def check_sign_in(session: Session, *, email: str, password: str, address: str,
                  now: datetime, settings: Settings) -> User:
    """The active user whose email and password these are.

    A refusal is stored and committed before it is raised - the request that made it
    fails, and its own transaction with it - and says the same whether the email, the
    password or the account was wrong. Refused with :class:`TooManyAttempts` once the
    failures reach a limit (see the module docstring)."""
    until = throttled_until(session, email=email, address=address, now=now,
                            settings=settings)
    if until is not None:
        raise _too_many(until)
    user = session.scalar(select(User).where(User.email == _clean(email)))
    stored = user.password_hash if user is not None and user.is_active else None
    if _matches(stored or _STAND_IN, password) and user is not None and stored is not None:
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        # A colleague who finally got it right should not stay locked by their typos.
        session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
        return user
    _record_failure(session, _clean(email), address[:64], now, settings)
    until = throttled_until(session, email=email, address=address, now=now,
                            settings=settings)
    if until is not None:
        raise _too_many(until)
    raise _refused()


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _record_failure(session: Session, email: str, address: str, now: datetime,
                    settings: Settings) -> None:
    window = timedelta(minutes=settings.login_lockout_minutes)
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - window))
    session.add(LoginFailure(at=now, email=email, address=address))
    session.commit()


def sign_in(session: Session, *, email: str, password: str, address: str, now: datetime,
            settings: Settings, replacing: str | None = None) -> str:
    """Check the email and password (:func:`check_sign_in`) and start a web session;
    returns the session id for the browser's cookie."""
    user = check_sign_in(session, email=email, password=password, address=address, now=now,
                         settings=settings)
    return web_sessions.start(session, user, now, settings, replacing=replacing)
