"""Tokens are made and revoked by their holder, an admin or the command line, each on the
audit trail with who did it, and never with the token itself."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.access.policy import Principal
from hub.errors import AuthenticationFailed, NotFound, PermissionDenied
from hub.staff.service import authenticate, create_token, revoke_token
from tests import factories as f


def _token_rows(session):
    return session.execute(select(AuditEntry.action, AuditEntry.actor_user_id, AuditEntry.detail)
                           .where(AuditEntry.action.like("token.%"))
                           .order_by(AuditEntry.id)).all()


def test_each_token_change_names_who_made_it_and_keeps_no_token(session):
    mikko, anna = f.user(session), f.user(session, admin=True)
    own, own_token = create_token(session, Principal.of(mikko), mikko, "laptop")
    given, given_token = create_token(session, Principal.of(anna), mikko, "phone")
    served, served_token = create_token(session, None, mikko)
    revoke_token(session, Principal.of(mikko), own.id)
    revoke_token(session, Principal.of(anna), given.id)
    revoke_token(session, None, served.id)
    line = {"via": "command line"}
    assert _token_rows(session) == [
        ("token.create", mikko.id, {"token_id": own.id, "user_id": mikko.id, "name": "laptop"}),
        ("token.create", anna.id, {"token_id": given.id, "user_id": mikko.id, "name": "phone"}),
        ("token.create", None, {"token_id": served.id, "user_id": mikko.id, "name": ""} | line),
        ("token.revoke", mikko.id, {"token_id": own.id, "user_id": mikko.id, "name": "laptop"}),
        ("token.revoke", anna.id, {"token_id": given.id, "user_id": mikko.id, "name": "phone"}),
        ("token.revoke", None, {"token_id": served.id, "user_id": mikko.id, "name": ""} | line),
    ]
    kept = json.dumps([row.detail for row in session.scalars(select(AuditEntry))])
    for token, row in ((own_token, own), (given_token, given), (served_token, served)):
        assert token not in kept and row.prefix not in kept and row.token_hash not in kept


def test_a_colleague_neither_makes_nor_sees_anothers_tokens(session):
    mikko, liisa = f.user(session), f.user(session)
    with pytest.raises(PermissionDenied, match="only an admin"):
        create_token(session, Principal.of(liisa), mikko, "borrowed")
    row, token = create_token(session, Principal.of(mikko), mikko)
    with pytest.raises(NotFound, match=f"no token with id {row.id}"):
        revoke_token(session, Principal.of(liisa), row.id)
    assert authenticate(session, token).user_id == mikko.id
    assert [action for action, _, _ in _token_rows(session)] == ["token.create"]


def test_revoking_a_revoked_token_is_recorded_once(session):
    mikko = f.user(session)
    row, token = create_token(session, Principal.of(mikko), mikko)
    first = revoke_token(session, Principal.of(mikko), row.id).revoked_at
    assert revoke_token(session, Principal.of(mikko), row.id).revoked_at == first
    assert [action for action, _, _ in _token_rows(session)] == ["token.create", "token.revoke"]
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate(session, token)
