"""Signing in with Microsoft Entra ID: msal's authorization code flow, and the colleague
found by the email of the Microsoft account.

:func:`begin` asks msal for the authorize URL (with PKCE, a ``state`` and a ``nonce``);
the flow msal needs to finish - those three secrets among them - is sealed with the
installation's key (:mod:`hub.crypto`: encrypted and authenticated) for the browser to
hold in a short-lived cookie, so that no table keeps half-finished sign-ins.
:func:`finish` opens it again, lets msal check ``state`` and redeem the code at the token
endpoint (which checks the ``nonce`` in the ID token), and then checks what msal leaves to
the application: the ID token is for this app (``aud``), from the firm's own directory
(``tid``) and not expired. The ID token came straight from the token endpoint over TLS,
in answer to the app's own secret, so its signature need not be checked (OpenID Connect
Core 3.1.3.7, 6).

The colleague is the *active* user whose email is the account's ``preferred_username``
(else ``email``), lower-cased. Within one directory the user name's domain is one the
firm has verified, which is why the tenant must be a directory id and not ``common``.
An account that matches nobody, or a deactivated user, is refused the same way as a
wrong password.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import msal
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.crypto import Keyring
from hub.errors import AuthenticationFailed, ConfigurationError, SourceFailed
from hub.settings import Settings
from hub.staff import web_sessions
from hub.staff.models import User

logger = logging.getLogger(__name__)

#: How long a browser may take at Microsoft's sign-in page before the flow is refused.
FLOW_MINUTES = 10
#: Seconds msal waits for Microsoft's endpoints.
_TIMEOUT = 10
# Binds a sealed flow to its purpose: no other sealed value opens as one.
_CONTEXT = "entra sign-in flow"
# Clocks differ a little between here and Microsoft.
_SKEW_SECONDS = 120


class HttpClient(Protocol):
    """What msal speaks HTTP through (``requests.Session`` by default): ``get`` and
    ``post`` answering objects with ``status_code``, ``text``, ``headers`` and
    ``raise_for_status()``."""

    def get(self, url: str, **kwargs: Any) -> Any: ...

    def post(self, url: str, **kwargs: Any) -> Any: ...


class MicrosoftSignInFailed(AuthenticationFailed):
    """The flow expired, was tampered with, or Microsoft answered with an error: start
    again."""


class MicrosoftAccountRefused(AuthenticationFailed):
    """The Microsoft account matches no active user: the admin must add (or reactivate)
    the colleague, with that email."""


@dataclass(frozen=True, slots=True)
class Started:
    """Where to send the browser, and the sealed flow it keeps meanwhile."""

    authorize_url: str
    sealed_flow: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The new web session's id (for the cookie), and where the user was going."""

    session_id: str
    next_path: str


def application(settings: Settings,
                http_client: HttpClient | None = None) -> msal.ConfidentialClientApplication:
    """The msal app of the configured registration; ``http_client`` replaces msal's own
    (``requests``). Building it reads the authority's OpenID configuration."""
    if not settings.entra_configured or settings.entra_client_secret is None:
        raise ConfigurationError(
            "Sign in with Microsoft is not configured; set CLIENTHUB_ENTRA_TENANT_ID, "
            "CLIENTHUB_ENTRA_CLIENT_ID and CLIENTHUB_ENTRA_CLIENT_SECRET")
    try:
        return msal.ConfidentialClientApplication(
            settings.entra_client_id,
            client_credential=settings.entra_client_secret.get_secret_value(),
            authority=settings.resolved_entra_authority,
            # The authority is the admin's setting, not a request's choice: asking
            # Microsoft's instance discovery whether its host is known adds a round trip
            # and no safety (and would refuse a national cloud's host msal does not know).
            instance_discovery=False,
            http_client=http_client, timeout=_TIMEOUT)
    except (ValueError, OSError) as exc:
        # msal's message names the authority URL only, never the secret.
        logger.warning("Microsoft's sign-in service did not answer: %s", exc)
        raise SourceFailed("Microsoft's sign-in service could not be reached; try again "
                           "in a moment, or sign in with your password",
                           retryable=True) from exc


def begin(settings: Settings, *, redirect_uri: str, next_path: str, now: datetime,
          http_client: HttpClient | None = None) -> Started:
    """Start a sign-in: the authorize URL, and the flow to keep until the browser comes
    back to ``redirect_uri``."""
    # form_post: the code comes back in a POST's body, not in a URL that browsers keep
    # in their history and send on as a Referer (RFC 9700, 4.3.1).
    flow = application(settings, http_client).initiate_auth_code_flow(
        scopes=[], redirect_uri=redirect_uri, response_mode="form_post")
    authorize_url = flow.pop("auth_uri")
    kept = json.dumps({"flow": flow, "next": next_path, "at": now.timestamp()})
    return Started(authorize_url, Keyring.from_settings(settings).encrypt(kept, _CONTEXT))


def _opened(settings: Settings, sealed_flow: str, now: datetime) -> dict[str, Any]:
    try:
        kept = json.loads(Keyring.from_settings(settings).decrypt(sealed_flow, _CONTEXT))
        age = now.timestamp() - float(kept["at"])
        flow, next_path = kept["flow"], kept["next"]
    except (ConfigurationError, ValueError, KeyError, TypeError) as exc:
        raise _failed() from exc
    if not 0 <= age <= FLOW_MINUTES * 60 + _SKEW_SECONDS or not isinstance(flow, dict) \
            or not isinstance(next_path, str):
        raise _failed()
    return {"flow": flow, "next": next_path}


def _failed() -> MicrosoftSignInFailed:
    return MicrosoftSignInFailed("signing in with Microsoft did not finish or took too "
                                 "long; start again")


def _refused() -> MicrosoftAccountRefused:
    return MicrosoftAccountRefused("no active user has the email of this Microsoft account; "
                                   "ask your firm's admin to add you with that email")


def account_email(claims: Mapping[str, Any]) -> str | None:
    """The email the ID token names the account by, lower-cased; None without one."""
    for claim in ("preferred_username", "email"):
        value = claims.get(claim)
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()[:320]
    return None


def _check_claims(settings: Settings, claims: Mapping[str, Any], now: datetime) -> None:
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    expires = claims.get("exp")
    if settings.entra_client_id not in audiences \
            or str(claims.get("tid", "")).lower() != settings.entra_tenant_id \
            or not isinstance(expires, int | float) \
            or expires + _SKEW_SECONDS < now.timestamp():
        logger.warning("Microsoft sign-in refused: the ID token is not for this app, "
                       "from another directory, or expired")
        raise _failed()


def finish(session: Session, settings: Settings, *, sealed_flow: str,
           answer: Mapping[str, str], now: datetime, replacing: str | None = None,
           http_client: HttpClient | None = None) -> Finished:
    """Finish a sign-in with the form Microsoft had the browser post to the redirect URI
    (``answer``: ``code`` and ``state``, or ``error``); a web session for the matched
    colleague."""
    kept = _opened(settings, sealed_flow, now)
    app = application(settings, http_client)
    try:
        result = cast(dict[str, Any],
                      app.acquire_token_by_auth_code_flow(kept["flow"], dict(answer)))
    except (ValueError, RuntimeError) as exc:
        # A state or nonce that does not match: a forged or replayed answer.
        logger.warning("Microsoft sign-in refused: %s", type(exc).__name__)
        raise _failed() from exc
    if "error" in result:
        logger.info("Microsoft sign-in failed: %s", result.get("error"))
        raise _failed()
    claims = result.get("id_token_claims") or {}
    _check_claims(settings, claims, now)
    email = account_email(claims)
    user = session.scalar(select(User).where(User.email == email, User.is_active.is_(True))) \
        if email else None
    if user is None:
        raise _refused()
    session_id = web_sessions.start(session, user, now, settings, replacing=replacing,
                                    via="microsoft")
    return Finished(session_id, kept["next"])
