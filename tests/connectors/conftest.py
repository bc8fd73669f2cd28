"""Connector fixtures: throw-away Dovecot servers, one per flavour for the session, and a
fresh mailbox (a new user) for every test, so tests never see each other's mail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import peer_missing
from tests.peers.dovecot import DovecotServer, MailUser, dovecot_server
from tests.peers.postgres import PeerMissing


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """Dovecot as shipped: CONDSTORE, QRESYNC, ESEARCH, SPECIAL-USE."""
    try:
        with dovecot_server(condstore=True) as server:
            yield server
    except PeerMissing as exc:
        peer_missing(str(exc))


@pytest.fixture(scope="session")
def dovecot_no_condstore() -> Iterator[DovecotServer]:
    """Dovecot advertising neither CONDSTORE nor QRESYNC, like Exchange."""
    try:
        with dovecot_server(condstore=False) as server:
            yield server
    except PeerMissing as exc:
        peer_missing(str(exc))


@pytest.fixture(params=["condstore", "no-condstore"])
def imap_server(request: pytest.FixtureRequest) -> DovecotServer:
    name = "dovecot" if request.param == "condstore" else "dovecot_no_condstore"
    server: DovecotServer = request.getfixturevalue(name)
    return server


@pytest.fixture
def mailbox(imap_server: DovecotServer) -> MailUser:
    return imap_server.add_user()


@pytest.fixture
def condstore_mailbox(dovecot: DovecotServer) -> MailUser:
    return dovecot.add_user()
