"""An admin sets a colleague's web password through the API; nobody else may."""

from __future__ import annotations

from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.staff.models import User
from tests.api.conftest import ok

SECRET = "  välilyönnit kuuluvat salasanaan  "


def test_an_admin_sets_a_password_and_others_may_not(api, session, admin, make_caller):
    mikko = make_caller(name="Mikko")
    ok(api.put(f"/api/v1/users/{mikko.id}/password", headers=admin.headers,
               json={"password": SECRET}), 204)
    stored = session.scalar(select(User.password_hash).where(User.id == mikko.id))
    assert stored is not None and stored.startswith("$argon2id$")
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(stored, SECRET)  # as typed: the spaces too
    rows = session.execute(select(AuditEntry.actor_user_id, AuditEntry.detail).where(
        AuditEntry.action == "user.set_password")).all()
    assert rows == [(admin.id, {"user_id": mikko.id})]

    own = api.put(f"/api/v1/users/{mikko.id}/password", headers=mikko.headers,
                  json={"password": SECRET})
    assert own.status_code == 403
    short = api.put(f"/api/v1/users/{mikko.id}/password", headers=admin.headers,
                    json={"password": "lyhyt"})
    assert short.status_code == 422 and short.json()["error"]["field"] == "password"
    missing = api.put("/api/v1/users/987654321/password", headers=admin.headers,
                      json={"password": SECRET})
    assert missing.status_code == 404
