""""Sign in with Microsoft" in a real browser, against a Microsoft identity platform served
in the test process: msal (in the app) speaks to it through the HTTP client the app is
given, and the browser's visit to its authorize endpoint is answered by ``page.route``,
which sends the browser back to the app's redirect URI as Microsoft would. Nothing leaves
the machine.

The fake answers the documented shapes: the tenant's OpenID configuration
(``{authority}/v2.0/.well-known/openid-configuration``), the authorize endpoint (checked:
client id, redirect URI, ``state``, ``nonce``, a PKCE S256 challenge) and the token
endpoint (checked: the client secret, the code, the redirect URI and the PKCE verifier),
which answers with an RS256-signed ID token carrying the authorize request's nonce.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy import select, update

from api.app import web_engine
from api.web.pages.auth_microsoft import HTTP_CLIENT_STATE
from hub.access.models import AuditEntry
from hub.db import make_session_factory
from hub.staff.models import User, WebSession
from tests.conftest import peer_missing
from tests.peers.app_server import served_app
from tests.web.conftest import AXE, Served, open_tab, screenshot, seed_firm, web_settings
from tests.web.test_accessibility import _violations

TENANT = "8f3c6d2e-4b1a-4c7e-9d2f-1a2b3c4d5e6f"
CLIENT_ID = "6a1f0c9e-2b3d-4e5f-8a7b-9c0d1e2f3a4b"
SECRET = "Qx8~entra-test-secret-value.4f7c2a9b"
AUTHORITY = f"https://login.microsoftonline.com/{TENANT}"
BUTTON = "Kirjaudu Microsoft-tilillä"
NO_MATCH = ("Microsoft-tilisi ei vastaa yhtään Client Hubin aktiivista käyttäjää. Pyydä "
            "toimistosi ylläpitäjää lisäämään sinut tilin sähköpostiosoitteella.")
FAILED = ("Kirjautuminen Microsoft-tilillä ei päättynyt tai kesti liian kauan. "
          "Yritä uudelleen.")
_SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Answer:
    """What msal reads from a response."""

    status_code: int
    text: str
    headers: dict[str, str] = field(default_factory=lambda: {
        "content-type": "application/json; charset=utf-8"})

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise OSError(f"HTTP {self.status_code}")


@dataclass
class Grant:
    email: str
    nonce: str
    challenge: str
    redirect_uri: str


class MicrosoftIdentityPlatform:
    """One tenant's v2.0 endpoints; ``signs_in_as`` is the account the next visitor of
    the authorize endpoint signs in with."""

    def __init__(self) -> None:
        self.signs_in_as = ""
        #: The directory the ID tokens say the account is from.
        self.account_tenant = TENANT
        self.grants: dict[str, Grant] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.secrets_sent: list[str] = []

    # -- msal's side: its HTTP client ------------------------------------------------------

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> Answer:
        self.requests.append(("GET", url, dict(params or {})))
        if url == f"{AUTHORITY}/v2.0/.well-known/openid-configuration":
            return Answer(200, json.dumps({
                "issuer": f"{AUTHORITY}/v2.0",
                "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
                "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{AUTHORITY}/oauth2/v2.0/logout",
                "jwks_uri": f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "response_types_supported": ["code", "id_token", "code id_token",
                                             "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                          "private_key_jwt",
                                                          "client_secret_basic"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            }))
        return Answer(404, json.dumps({"error": "not_found"}))

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **_: Any) -> Answer:
        form = dict(data or {})
        self.requests.append(("POST", url, {k: v for k, v in form.items()
                                            if k != "client_secret"}))
        if url != f"{AUTHORITY}/oauth2/v2.0/token":
            return Answer(404, json.dumps({"error": "not_found"}))
        self.secrets_sent.append(form.get("client_secret", ""))
        grant = self.grants.pop(form.get("code", ""), None)
        if form.get("client_secret") != SECRET or form.get("client_id") != CLIENT_ID:
            return self._error("invalid_client", "AADSTS7000215: Invalid client secret.")
        if grant is None or form.get("grant_type") != "authorization_code" \
                or form.get("redirect_uri") != grant.redirect_uri \
                or _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest()) \
                != grant.challenge:
            return self._error("invalid_grant", "AADSTS70008: The provided authorization "
                               "code or refresh token has expired or is invalid.")
        now = int(time.time())
        oid = str(hashlib.md5(grant.email.encode()).hexdigest())  # noqa: S324 - an id
        claims = {
            "aud": CLIENT_ID, "iss": f"{AUTHORITY}/v2.0", "iat": now, "nbf": now,
            "exp": now + 3600, "name": grant.email.split("@")[0].title(),
            "nonce": grant.nonce, "oid": oid, "preferred_username": grant.email,
            "sub": _b64(oid.encode()), "tid": self.account_tenant, "ver": "2.0",
        }
        id_token = jwt.encode(claims, _SIGNING_KEY, algorithm="RS256",
                              headers={"kid": "test-key"})
        client_info = _b64(json.dumps({"uid": oid, "utid": TENANT}).encode())
        return Answer(200, json.dumps({
            "token_type": "Bearer", "scope": "openid profile email", "expires_in": 3599,
            "ext_expires_in": 3599, "access_token": secrets.token_urlsafe(48),
            "id_token": id_token, "client_info": client_info,
        }))

    @staticmethod
    def _error(code: str, description: str) -> Answer:
        return Answer(400, json.dumps({"error": code, "error_description": description,
                                       "error_codes": [70008]}))

    # -- the browser's side: the authorize endpoint ----------------------------------------

    def authorize(self, url: str) -> tuple[str, dict[str, str]]:
        """Where and what the browser posts back (``response_mode=form_post``) once the
        user has signed in as ``signs_in_as``."""
        asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert asked["client_id"] == CLIENT_ID and asked["response_type"] == "code"
        assert asked["response_mode"] == "form_post" and "openid" in asked["scope"]
        assert asked["code_challenge_method"] == "S256" and asked["nonce"]
        code = secrets.token_urlsafe(32)
        self.grants[code] = Grant(self.signs_in_as, asked["nonce"], asked["code_challenge"],
                                  asked["redirect_uri"])
        client_info = _b64(json.dumps({"uid": "x", "utid": TENANT}).encode())
        return asked["redirect_uri"], {"code": code, "state": asked["state"],
                                       "client_info": client_info,
                                       "session_state": secrets.token_hex(8)}


def _form_post_page(action: str, fields: dict[str, str]) -> str:
    """Microsoft's answer to a form_post authorize request: a form that posts itself."""
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in fields.items())
    return (f'<html><body><form method="post" action="{escape(action)}">{inputs}</form>'
            "<script>document.forms[0].submit()</script></body></html>")


def _answer_authorize(microsoft: MicrosoftIdentityPlatform, tamper: bool = False) -> Any:
    def handler(route: Any) -> None:
        if not urlsplit(route.request.url).path.endswith("/oauth2/v2.0/authorize"):
            route.abort()
            return
        action, fields = microsoft.authorize(route.request.url)
        if tamper:
            fields["state"] = fields["state"][:-1] + ("A" if fields["state"][-1] != "A"
                                                      else "B")
        route.fulfill(status=200, content_type="text/html",
                      body=_form_post_page(action, fields))
    return handler


@pytest.fixture
def microsoft() -> MicrosoftIdentityPlatform:
    return MicrosoftIdentityPlatform()


@pytest.fixture
def served_with_microsoft(web_database: str,
                          microsoft: MicrosoftIdentityPlatform) -> Iterator[Served]:
    engine = web_engine(web_database)
    with make_session_factory(engine)() as session:
        firm = seed_firm(session)
    settings = web_settings(entra_tenant_id=TENANT, entra_client_id=CLIENT_ID,
                            entra_client_secret=SecretStr(SECRET))
    try:
        with served_app(engine, settings, state={HTTP_CLIENT_STATE: microsoft}) as url:
            yield Served(url, engine, firm)
    finally:
        engine.dispose()


@pytest.fixture
def ms_tab(browser: Any, served_with_microsoft: Served,
           microsoft: MicrosoftIdentityPlatform) -> Iterator[Any]:
    for tab in open_tab(browser, served_with_microsoft):
        tab.page.context.route("https://login.microsoftonline.com/**",
                               _answer_authorize(microsoft))
        yield tab


def _sign_in_with_microsoft(page: Any, start: str = "/") -> Any:
    """Click the button on the sign-in page ``start`` leads to, and wait until the
    browser is back from Microsoft (the app answers the callback with a page or a
    redirect)."""
    page.goto(start)
    with page.expect_response(lambda r: "/login/microsoft/callback" in r.url) as back:
        page.get_by_role("link", name=BUTTON).click()
    page.wait_for_load_state()
    return back.value


def test_the_button_shows_only_when_microsoft_is_configured(browser, served_with_microsoft):
    served = served_with_microsoft
    with served_app(served.engine, web_settings()) as plain_url:  # the same firm, unset
        for tab in open_tab(browser, Served(plain_url, served.engine, served.firm)):
            tab.page.goto("/login")
            assert tab.page.get_by_role("button", name="Kirjaudu sisään").is_visible()
            assert tab.page.get_by_role("link", name=BUTTON).count() == 0
            tab.page.goto("/login/microsoft")  # not configured: back to the form
            assert tab.page.url == f"{plain_url}/login"
    for tab in open_tab(browser, served):
        tab.page.goto("/login")
        assert tab.page.get_by_role("button", name="Kirjaudu sisään").is_visible()
        assert tab.page.get_by_role("link", name=BUTTON).is_visible()
        screenshot(tab.page, "login-microsoft")


def test_a_colleague_signs_in_with_microsoft(ms_tab, served_with_microsoft, microsoft,
                                             caplog):
    caplog.set_level(logging.DEBUG)
    served, page = served_with_microsoft, ms_tab.page
    microsoft.signs_in_as = "Liisa@Tilitoimisto.test"  # as Microsoft spells it
    assert _sign_in_with_microsoft(page, "/clients?q=kahvila").status == 303
    page.wait_for_url(f"{served.url}/clients?q=kahvila")
    assert page.url == f"{served.url}/clients?q=kahvila"
    assert page.get_by_text(served.firm.liisa.name).is_visible()
    assert ms_tab.console_errors == []
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["clienthub_session"]["httpOnly"]
    assert "clienthub_microsoft" not in cookies  # the flow is spent
    with make_session_factory(served.engine)() as session:
        audit = session.execute(select(AuditEntry.actor_user_id, AuditEntry.detail).where(
            AuditEntry.action == "user.sign_in")).all()
        assert [(row.actor_user_id, row.detail.get("via")) for row in audit] == [
            (served.firm.liisa.id, "microsoft")]
    # msal read the tenant's configuration, and redeemed the code with the secret.
    assert [(method, url.rsplit("/", 2)[-1]) for method, url, _ in microsoft.requests] == [
        ("GET", "openid-configuration"), ("GET", "openid-configuration"), ("POST", "token")]
    assert microsoft.secrets_sent == [SECRET]
    assert microsoft.grants == {}  # the code was used
    seen = page.content() + "".join(str(c) for c in page.context.cookies())
    page.goto("/login")
    seen += page.content()
    assert SECRET not in seen
    assert SECRET not in caplog.text and caplog.records  # logs were captured, and clean


@pytest.mark.parametrize("case", ["unknown email", "deactivated"])
def test_an_account_matching_no_active_user_is_refused(ms_tab, served_with_microsoft,
                                                       microsoft, case):
    served, page = served_with_microsoft, ms_tab.page
    microsoft.signs_in_as = served.firm.mikko.email
    if case == "unknown email":
        microsoft.signs_in_as = "vieras@muualla.test"
    else:
        with make_session_factory(served.engine)() as session:
            session.execute(update(User).where(User.id == served.firm.mikko.id)
                            .values(is_active=False))
            session.commit()
    answer = _sign_in_with_microsoft(page)
    assert answer.status == 401  # as for a wrong password
    assert page.get_by_role("alert").inner_text() == NO_MATCH
    if case == "deactivated":
        screenshot(page, "login-microsoft-refused")
    assert "clienthub_session" not in {c["name"] for c in page.context.cookies()}
    page.goto("/")
    assert urlsplit(page.url).path == "/login"
    with make_session_factory(served.engine)() as session:
        assert session.scalar(select(WebSession.id)) is None


@pytest.mark.parametrize("case", ["tampered state", "another directory"])
def test_a_tampered_state_or_another_directory_is_refused(ms_tab, served_with_microsoft,
                                                          microsoft, case):
    served, page = served_with_microsoft, ms_tab.page
    microsoft.signs_in_as = served.firm.liisa.email
    if case == "tampered state":
        page.context.unroute("https://login.microsoftonline.com/**")
        page.context.route("https://login.microsoftonline.com/**",
                           _answer_authorize(microsoft, tamper=True))
    else:  # an account of some other organisation, with a colleague's email
        microsoft.account_tenant = "0b7e3a51-9c2d-4f6e-8a1b-2c3d4e5f6a7b"
    answer = _sign_in_with_microsoft(page)
    assert answer.status == 401
    assert page.get_by_role("alert").inner_text() == FAILED
    redeemed = [method for method, *_ in microsoft.requests].count("POST")
    assert redeemed == (0 if case == "tampered state" else 1)
    assert "clienthub_session" not in {c["name"] for c in page.context.cookies()}


def test_a_callback_without_its_flow_is_refused(ms_tab, served_with_microsoft, microsoft):
    """Another browser's (an attacker's) code and state, without the flow cookie they
    were issued with, sign nobody in."""
    page = ms_tab.page
    microsoft.signs_in_as = served_with_microsoft.firm.anna.email
    answer = page.request.post("/login/microsoft/callback",
                               form={"code": "stolen", "state": "guessed"})
    assert answer.status == 401 and FAILED in answer.text()
    assert "clienthub_session" not in {c["name"] for c in page.context.cookies()}
    assert microsoft.secrets_sent == []


def test_no_serious_violation_with_the_button_and_a_refusal(browser, served_with_microsoft,
                                                            microsoft):
    if not AXE.exists():
        peer_missing(f"axe-core at {AXE} (scripts/install-peers.sh installs it)")
    microsoft.signs_in_as = "vieras@muualla.test"
    for tab in open_tab(browser, served_with_microsoft, bypass_csp=True):
        page = tab.page
        page.context.route("https://login.microsoftonline.com/**",
                           _answer_authorize(microsoft))
        page.goto("/login")
        assert _violations(page) == []
        _sign_in_with_microsoft(page)
        assert page.get_by_role("alert").inner_text() == NO_MATCH
        assert _violations(page) == []
