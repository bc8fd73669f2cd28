"""The account every runner and lease test syncs: an archive no connector reads."""

from __future__ import annotations

import pytest

from hub.accounts.models import Account
from tests import factories as f


@pytest.fixture
def account(session):
    owner = f.user(session)
    row = Account(owner_user_id=owner.id, kind="mail_archive", name="a", settings={"path": "x"})
    session.add(row)
    session.commit()
    return row
