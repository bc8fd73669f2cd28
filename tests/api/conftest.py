from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests import factories as f


@dataclass
class Caller:
    id: int
    headers: dict[str, str]


@pytest.fixture
def make_caller(session):
    def make(*, admin: bool = False, name: str = "") -> Caller:
        user = f.user(session, admin=admin, name=name)
        token = f.token(session, user)
        session.commit()
        return Caller(user.id, {"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
def admin(make_caller) -> Caller:
    return make_caller(admin=True, name="Anna Admin")


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


__all__ = ["Caller", "TestClient", "ok"]
