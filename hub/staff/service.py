"""Staff users and their API tokens. Tokens are random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.policy import Principal, require_admin, require_admin_or_server
from hub.db import utcnow
from hub.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from hub.paging import Page, clamp_limit, decode_cursor, page_of
from hub.staff import web_sessions
from hub.staff.models import ApiToken, User

TOKEN_PREFIX = "ch_"  # noqa: S105 - a public marker, not a secret
# last_used_at is a hint for admins, not an audit: one write a minute per token is enough.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if "@" not in value or value.startswith("@") or value.endswith("@"):
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    return value


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, principal: Principal | None, *, email: str, name: str,
                is_admin: bool = False) -> User:
    """A new staff user, added by an admin (``principal``) or the command line (``None``)."""
    require_admin_or_server(principal)
    address = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(f"a user with email {address} already exists; use that user instead")
    if not name.strip():
        raise InvalidInput("a user needs a name", field="name")
    user = User(email=address, name=name.strip(), is_admin=is_admin, is_active=True)
    session.add(user)
    session.flush()
    audit.record_by(session, principal, "user.create",
                    detail={"user_id": user.id, "is_admin": user.is_admin})
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}; list users with GET /api/v1/users")
    return user


def find_user_by_email(session: Session, email: str) -> User:
    address = normalize_email(email)
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        raise NotFound(f"no user with email {address}; add one with 'clienthub users add'")
    return user


def require_active_users(session: Session, ids: Sequence[int], *, field: str) -> list[int]:
    """``ids`` when each names an active user once; else 422 on ``field.N``, the first bad one.

    For lists of colleagues in a request (who may see a private thread, whom a note
    mentions): a typo or a departed colleague must be said, not quietly kept.
    """
    active = set(session.scalars(select(User.id).where(User.id.in_(set(ids)),
                                                      User.is_active.is_(True))))
    seen: set[int] = set()
    for n, user_id in enumerate(ids):
        if user_id in seen:
            raise InvalidInput(f"user {user_id} is listed twice; name each colleague once",
                               field=f"{field}.{n}")
        if user_id not in active:
            raise InvalidInput(f"no active user with id {user_id}; name a colleague who is "
                               "still at the firm", field=f"{field}.{n}")
        seen.add(user_id)
    return list(ids)


def list_users(
    session: Session,
    *,
    limit: int | None = None,
    after: str | None = None,
    include_inactive: bool = True,
) -> Page[User]:
    size = clamp_limit(limit)
    stmt = select(User).order_by(User.id).limit(size + 1)
    if after:
        stmt = stmt.where(User.id > decode_cursor(after, {"id": int}, "after")["id"])
    if not include_inactive:
        stmt = stmt.where(User.is_active.is_(True))
    return page_of(list(session.scalars(stmt)), size, lambda u: {"id": u.id})


def update_user(
    session: Session,
    principal: Principal | None,
    user: User,
    *,
    email: str | None = None,
    name: str | None = None,
    is_admin: bool | None = None,
    is_active: bool | None = None,
) -> User:
    require_admin_or_server(principal)
    _change(session, user, email=email, name=name, is_admin=is_admin, is_active=is_active)
    given = {"email": email, "name": name, "is_admin": is_admin, "is_active": is_active}
    audit.record_by(session, principal, "user.update",
                    detail={"user_id": user.id,
                            **{k: v for k, v in given.items() if v is not None}})
    return user


def deactivate_user(session: Session, principal: Principal | None, user: User) -> User:
    """Users are deactivated, never deleted: the timeline and audit trail name them."""
    require_admin_or_server(principal)
    _change(session, user, is_active=False)
    audit.record_by(session, principal, "user.deactivate", detail={"user_id": user.id})
    return user


def _change(
    session: Session,
    user: User,
    *,
    email: str | None = None,
    name: str | None = None,
    is_admin: bool | None = None,
    is_active: bool | None = None,
) -> None:
    if email is not None:
        address = normalize_email(email)
        taken = session.scalar(select(User.id).where(User.email == address, User.id != user.id))
        if taken is not None:
            raise Conflict(f"another user already has email {address}")
        user.email = address
    if name is not None:
        if not name.strip():
            raise InvalidInput("a user needs a name", field="name")
        user.name = name.strip()
    if is_admin is not None:
        if not is_admin and user.is_admin:
            _keep_one_admin(session, user)
        user.is_admin = is_admin
    if is_active is not None:
        if not is_active and user.is_admin:
            _keep_one_admin(session, user)
        user.is_active = is_active
    session.flush()
    if is_active is False:
        web_sessions.end_all(session, user.id)  # signed out at once, in every browser


def _keep_one_admin(session: Session, leaving: User) -> None:
    others = session.scalar(
        select(func.count(User.id)).where(
            User.is_admin.is_(True), User.is_active.is_(True), User.id != leaving.id
        )
    )
    if not others:
        raise Conflict(f"{leaving.email} is the last active admin; make another user admin first")


def create_token(session: Session, principal: Principal | None, user: User,
                 name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``, made by the user themselves, an admin, or the command line
    (``None``). Returns the stored row and the token itself, which is never stored; the
    audit trail keeps the token's id and name, never the token."""
    if principal is not None and principal.user_id != user.id:
        require_admin(principal)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=token[:10], token_hash=hash_token(token))
    session.add(row)
    session.flush()
    audit.record_by(session, principal, "token.create", detail=_token_detail(row))
    return row, token


def list_tokens(session: Session, user: User) -> Sequence[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))


def revoke_token(session: Session, principal: Principal | None, token_id: int, *,
                 user_id: int | None = None) -> ApiToken:
    """Revoke a token: its holder's own, or anyone's by an admin or the command line
    (``None``). ``user_id`` narrows it to that user's tokens (``/me/tokens``). Revoking
    a revoked token changes nothing and is not recorded again."""
    if user_id is None and principal is not None and not (principal.is_admin
                                                          and principal.is_active):
        user_id = principal.user_id  # a colleague's token is not theirs to see
    row = session.get(ApiToken, token_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound(f"no token with id {token_id}; list tokens with 'clienthub tokens list'")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.record_by(session, principal, "token.revoke", detail=_token_detail(row))
    return row


def _token_detail(row: ApiToken) -> dict[str, object]:
    """What the audit trail keeps of a token: whose it is, its id and its name. Not its
    first characters either: they are part of the secret."""
    return {"token_id": row.id, "user_id": row.user_id, "name": row.name}


# One indexed lookup by the token's hash, built once: it runs on every request.
_HOLDER = (
    select(ApiToken.id.label("token_id"), ApiToken.revoked_at, ApiToken.last_used_at,
           User.id.label("user_id"), User.is_admin, User.is_active)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_TOKENS = cast(Table, ApiToken.__table__)


def authenticate(session: Session, token: str) -> Principal:
    """The active user holding ``token``; every failure reads the same to the caller.

    Read on every request, so nothing is cached: a revoked token or a deactivated user
    is refused by the next request, in every process."""
    failure = AuthenticationFailed(
        "the API token is missing, unknown or revoked; send 'Authorization: Bearer <token>' "
        "with a token from 'clienthub tokens create EMAIL'"
    )
    if not token.startswith(TOKEN_PREFIX):
        raise failure
    # On the connection: a plain read needs none of the ORM's handling of a statement.
    row = session.connection().execute(_HOLDER, {"token_hash": hash_token(token)}).first()
    if row is None or row.revoked_at is not None:
        raise failure
    if not row.is_active:
        raise AuthenticationFailed(
            "this user is deactivated; ask an admin to reactivate the account"
        )
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        session.execute(update(_TOKENS).where(_TOKENS.c.id == row.token_id)
                        .values(last_used_at=now))
    return Principal(user_id=row.user_id, is_admin=row.is_admin, is_active=True)
