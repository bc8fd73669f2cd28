"""The web view in a real browser: Debian's Chromium driven by Playwright, against the real
app served by uvicorn on a free port, on a SQLite database of each test's own with a small
firm in it. Under CI a missing Chromium, Playwright or axe-core fails the run.

Screenshots go to var/screenshots/ (each path is printed; ``pytest -s`` shows them).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from api.app import web_engine
from hub.db import make_session_factory
from hub.settings import Settings, get_settings
from hub.staff import passwords
from tests import factories as f
from tests.conftest import peer_missing
from tests.peers.app_server import served_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
#: Installed by scripts/install-peers.sh.
AXE = ROOT / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
PASSWORD = "oikea hevonen akku niitti"
#: Refused sign-ins from one address before it is locked, in the served app.
ADDRESS_LIMIT = 8


@dataclass
class Person:
    id: int
    email: str
    name: str
    password: str = PASSWORD


@dataclass
class Firm:
    """Anna the admin; Liisa, who covers Mikko (on sick leave) until ``cover_ends``; Outi,
    whose client nobody else sees. Each has a password; ``clients`` are ids by name."""

    anna: Person
    liisa: Person
    mikko: Person
    outi: Person
    clients: dict[str, int]
    cover_ends: datetime
    admin_token: str


@dataclass
class Served:
    url: str
    engine: Engine
    firm: Firm


def _person(session: Any, name: str, email: str, *, admin: bool = False) -> tuple[Any, Person]:
    user = f.user(session, admin=admin, name=name)
    user.email = email
    passwords.set_password(session, None, user, PASSWORD)
    return user, Person(user.id, email, name)


def seed_firm(session: Any) -> Firm:
    anna_row, anna = _person(session, "Anna Virtanen", "anna@tilitoimisto.test", admin=True)
    liisa_row, liisa = _person(session, "Liisa Laine", "liisa@tilitoimisto.test")
    mikko_row, mikko = _person(session, "Mikko Mäkinen", "mikko@tilitoimisto.test")
    outi_row, outi = _person(session, "Outi Ojala", "outi@tilitoimisto.test")
    f.rule(session, "role", "full", role="asiakasvastaava")
    clients = {}
    for name, owner in (("Kahvila Aalto Oy", liisa_row), ("Rakennus Mäkinen Oy", mikko_row),
                        ("Tilausajo Saarinen Ky", mikko_row), ("Outin Oma Oy", outi_row)):
        client = f.client(session, name=name)
        f.responsibility(session, owner, client)
        clients[name] = client.id
    now = datetime.now(UTC)
    cover_ends = (now + timedelta(days=6)).replace(hour=12, minute=30, second=0,
                                                   microsecond=0)
    f.cover(session, mikko_row, liisa_row, now - timedelta(days=1), cover_ends)
    token = f.token(session, anna_row)
    session.commit()
    return Firm(anna, liisa, mikko, outi, clients, cover_ends, token)


def serve(engine: Engine, settings: Settings | None = None) -> Any:
    """``clienthub serve``'s app and server in a thread on a free port; yields its URL."""
    return served_app(engine, settings)


@pytest.fixture
def web_database(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "web.sqlite3"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def web_settings(**changes: Any) -> Settings:
    return get_settings().model_copy(
        update={"login_failures_per_address": ADDRESS_LIMIT, **changes})


@pytest.fixture
def served(web_database: str) -> Iterator[Served]:
    engine = web_engine(web_database)
    with make_session_factory(engine)() as session:
        firm = seed_firm(session)
    try:
        with serve(engine, web_settings()) as url:
            yield Served(url, engine, firm)
    finally:
        engine.dispose()


# -- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        peer_missing("the playwright package (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        peer_missing(f"Chromium at {CHROMIUM} (scripts/install-peers.sh installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A browser tab on the served app, and what its console said."""

    page: Any
    console_errors: list[str]


def open_tab(browser: Any, served: Served, **options: Any) -> Iterator[Tab]:
    context = browser.new_context(base_url=served.url, locale="fi-FI",
                                  viewport={"width": 1200, "height": 800}, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []

    def console(message: Any) -> None:
        # A page answered 401 or 404 on purpose is logged too; a failed script, style or
        # fragment is caught by the response handler below instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and answer.request.resource_type != "document":
            errors.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", response)
    try:
        yield Tab(page, errors)
    finally:
        context.close()


@pytest.fixture
def tab(browser: Any, served: Served) -> Iterator[Tab]:
    """A fresh browser (no cookies) with the pages' Content-Security-Policy in force."""
    yield from open_tab(browser, served)


@pytest.fixture
def axe_tab(browser: Any, served: Served) -> Iterator[Tab]:
    """A tab that lets the test inject axe-core: its script tag is inline, which the
    pages' CSP rightly refuses."""
    if not AXE.exists():
        peer_missing(f"axe-core at {AXE} (scripts/install-peers.sh installs it)")
    yield from open_tab(browser, served, bypass_csp=True)


def sign_in(page: Any, person: Person, password: str | None = None, *,
            start: str | None = "/") -> Any:
    """Open ``start``, which sends a stranger to the sign-in page (None: the page is open
    already), and sign in there."""
    if start is not None:
        page.goto(start)
    page.get_by_label("Sähköposti").fill(person.email)
    page.get_by_label("Salasana").fill(password or person.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Kirjaudu sisään").click()
    return page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
