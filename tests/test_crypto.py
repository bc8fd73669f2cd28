"""Secrets at rest: envelopes, associated data, rotation, and the database's refusal."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from hub.access.models import AuditEntry
from hub.access.policy import Principal
from hub.accounts import service
from hub.accounts.models import Account
from hub.accounts.schemas import AccountIn
from hub.crypto import Keyring, generate_key
from hub.errors import ConfigurationError, PermissionDenied
from hub.settings import Settings
from tests import factories as f

#: An IMAP host the outbound policy lets through: a public address (nothing connects here).
PUBLIC = "195.197.54.100"


def _ring(spec: str) -> Keyring:
    return Keyring.from_settings(Settings(_env_file=None, encryption_keys=spec))


def test_envelope_round_trip_and_binding():
    ring = _ring(f"k1={generate_key()}")
    sealed = ring.encrypt("salasana€", "account:1")
    assert sealed.startswith("chv1:k1:") and "salasana" not in sealed
    assert ring.decrypt(sealed, "account:1") == "salasana€"
    with pytest.raises(ConfigurationError, match="moved to another row"):
        ring.decrypt(sealed, "account:2")


def test_rotation_keeps_old_keys_readable(session):
    old, new = generate_key(), generate_key()
    owner = f.user(session)
    account = service.create_account(session, Principal(owner.id), AccountIn(
        kind="imap", name="m", settings={"host": PUBLIC, "username": "u"}))
    service.set_secret(account, "Sal4s4na-pw", _ring(f"k1={old}"))
    session.flush()
    done, total = service.rotate_keys(session, None, _ring(f"k2={new},k1={old}"))
    assert (done, total) == (1, 1)
    assert account.secret.startswith("chv1:k2:")
    assert service.reveal_secret(account, _ring(f"k2={new}")) == "Sal4s4na-pw"
    with pytest.raises(ConfigurationError, match="'k2'"):
        service.reveal_secret(account, _ring(f"k1={old}"))
    row = session.scalars(select(AuditEntry).where(AuditEntry.action == "keys.rotate")).one()
    assert (row.actor_user_id, row.detail) == (None, {"key_id": "k2", "reencrypted": 1,
                                                      "secrets": 1, "via": "command line"})
    kept = json.dumps(row.detail)
    assert not any(s in kept for s in (old, new, "Sal4s4na", account.secret))


def test_only_an_admin_rotates_and_the_trail_names_them(session):
    owner, anna = f.user(session), f.user(session, admin=True)
    account = service.create_account(session, Principal.of(owner), AccountIn(
        kind="imap", name="m", settings={"host": PUBLIC, "username": "u"}, secret="pw"))
    session.flush()
    ring, before = _ring(f"k1={generate_key()}"), account.secret
    with pytest.raises(PermissionDenied, match="only an admin"):
        service.rotate_keys(session, Principal.of(owner), ring)
    assert account.secret == before
    assert service.rotate_keys(session, Principal.of(anna), ring) == (1, 1)
    assert service.rotate_keys(session, Principal.of(anna), ring) == (0, 1)
    rows = session.execute(select(AuditEntry.actor_user_id, AuditEntry.detail)
                           .where(AuditEntry.action == "keys.rotate").order_by(AuditEntry.id))
    assert rows.all() == [(anna.id, {"key_id": "k1", "reencrypted": 1, "secrets": 1}),
                          (anna.id, {"key_id": "k1", "reencrypted": 0, "secrets": 1})]


def test_the_database_refuses_a_plaintext_secret(session):
    owner = f.user(session)
    session.add(Account(owner_user_id=owner.id, kind="imap", name="x", secret="hunter2"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_secrets_never_reach_api_or_logs(api, session, caplog):
    owner = f.user(session)
    token = f.token(session, owner)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    with caplog.at_level(logging.DEBUG):
        created = api.post("/api/v1/accounts", headers=headers, json={
            "kind": "imap", "name": "Työposti", "secret": "Sal41n3n-€",
            "settings": {"host": PUBLIC, "username": "u"}})
        listed = api.get("/api/v1/accounts", headers=headers)
    assert created.status_code == 201 and created.json()["has_secret"] is True
    assert "Sal41n3n" not in created.text + listed.text + caplog.text
    stored = session.execute(text("SELECT secret FROM accounts")).scalar()
    assert stored.startswith("chv1:") and "Sal41n3n" not in stored
