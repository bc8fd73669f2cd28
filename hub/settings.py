"""The only place the environment is read.

Every setting comes from a ``CLIENTHUB_`` variable or an optional ``.env`` file in the
working directory. The secret key is refused at start-up outside development when it is
missing or left at a known default, because tokens and (later) account secrets depend on it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hub import database_url as location
from hub.errors import ConfigurationError

DEVELOPMENT_SECRET = "development-only-secret-key"  # noqa: S105 - a marker, refused in production
_KNOWN_WEAK = {"", DEVELOPMENT_SECRET, "changeme", "secret", "change-me"}
#: What the test environment may reach without CLIENTHUB_OUTBOUND_ALLOW: its own peers.
TEST_OUTBOUND = ["127.0.0.0/8", "::1/128"]
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)"
                        r"(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")


def _listed(value: object, separator: str) -> object:
    """A list setting given as one string in the environment: split, blanks dropped."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(separator) if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=location.PREFIX, env_file=location.ENV_FILE,
        env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Field(default=location.DEFAULT_DATA_DIR)
    database_url: str | None = None
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    #: "id=base64key,..." - the first encrypts, all decrypt; empty: derived from secret_key.
    encryption_keys: SecretStr = SecretStr("")
    #: The append-only file the audit trail's head is written to after every commit, out
    #: of the database's reach; unset: audit-anchors.log in the data dir.
    audit_anchor_path: Path | None = None
    #: A password for 'clienthub accounts add', so that it need not be typed (never argv).
    account_secret: SecretStr | None = None
    time_zone: str = "Europe/Helsinki"
    language: Literal["fi", "en"] = "fi"
    #: Folders on the server under which an admin may point archive and local accounts
    #: (``os.pathsep``-separated); unset: the data dir. Paths are resolved first.
    server_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: Hosts and networks (``10.1.2.3``, ``10.0.0.0/8``, ``imap.firm.internal``, comma
    #: separated) that accounts may connect to although they are not public addresses;
    #: unset: none, except loopback in the ``test`` environment.
    outbound_allow: Annotated[list[str] | None, NoDecode] = None
    #: The firm's own mail domains; mail between them only is internal.
    firm_domains: list[str] = Field(default_factory=list)
    #: The Celery broker (``redis://host:6379/0``) for workers on other machines; unset,
    #: tasks run in the calling process (embedded: in-memory transport, eager).
    broker_url: str | None = None
    #: How often every enabled account is synced.
    sync_interval_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: The hour (firm time zone) of the daily folder enforcement.
    folders_enforce_hour: int = Field(default=2, ge=0, le=23)
    #: Processes that parse fetched mail while it is filed (0: parse in the syncing
    #: process). A large first sync uses them; a routine one files too little to.
    parse_workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=0,
                               le=64)
    #: Requests one server process serves at once (each holds one database connection);
    #: ``clienthub serve --max-requests`` sets it for its worker processes. One: every
    #: audited read appends to the one audit chain, so requests take turns at the database
    #: anyway, and two or more threads of one process taking turns there also fight for
    #: Python's interpreter lock at every statement; measured (bench/api_load.py, two
    #: processes, 20 clients) one request at a time per process served 592-812 requests/s
    #: and two 522-619. Processes, not threads, are what use more cores.
    max_requests: int = Field(default=1, ge=1, le=200)
    #: Processes ``clienthub serve`` runs by default: one per core, at most four (each is
    #: a whole copy of the application, about 150 MB).
    serve_workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=1,
                               le=64)
    #: A web session ends after this long without a request...
    web_session_idle_minutes: int = Field(default=120, ge=5, le=7 * 24 * 60)
    #: ...and this long after signing in, however busy (a working day by default).
    web_session_max_hours: int = Field(default=12, ge=1, le=30 * 24)
    #: TLS ends at a proxy in front of the server, which speaks plain HTTP to it: session
    #: cookies are marked Secure all the same. (A request that arrives as https - directly,
    #: or through a trusted proxy's X-Forwarded-Proto - gets Secure cookies anyway.)
    tls_in_front: bool = False
    #: Refused sign-ins for one email, and from one client address, within
    #: ``login_lockout_minutes``, after which signing in is refused until the window moves.
    login_failures_per_email: int = Field(default=5, ge=1, le=1000)
    login_failures_per_address: int = Field(default=20, ge=1, le=10000)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: "Sign in with Microsoft" (hub/staff/entra.py), offered once the tenant, the client
    #: id and the secret are all set: the firm's Entra ID directory (tenant) id, a GUID...
    entra_tenant_id: str | None = None
    #: ...the application (client) id of the app registration, and its client secret.
    entra_client_id: str | None = None
    entra_client_secret: SecretStr | None = None
    #: Unset: https://login.microsoftonline.com/{tenant}; a national cloud has its own host.
    entra_authority: str | None = None
    #: The redirect URI registered for the app (``https://hub.firm.fi/login/microsoft/
    #: callback``); unset: derived from the request, which behind a proxy needs the
    #: proxy's forwarded headers trusted.
    entra_redirect_uri: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Helsinki"
            ) from exc
        return value

    @field_validator("server_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        return _listed(value, os.pathsep)

    @field_validator("outbound_allow", mode="before")
    @classmethod
    def _split_allow(cls, value: object) -> object:
        return _listed(value, ",")

    @field_validator("outbound_allow")
    @classmethod
    def _known_hosts(cls, value: list[str] | None) -> list[str] | None:
        for entry in value or []:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                if not _HOST_NAME.match(entry.lower().rstrip(".")):
                    raise ValueError(
                        f"CLIENTHUB_OUTBOUND_ALLOW: {entry!r} is neither an address, a network "
                        "(10.0.0.0/8) nor a host name; list them separated by commas"
                    ) from None
        return value

    @field_validator("entra_tenant_id")
    @classmethod
    def _tenant_is_a_directory(cls, value: str | None) -> str | None:
        # A directory id, not "common" or "organizations": those would let in an account
        # of any organisation whose email happens to match a colleague's.
        if value is not None and not _GUID.fullmatch(value.strip()):
            raise ValueError("CLIENTHUB_ENTRA_TENANT_ID must be the Directory (tenant) ID "
                             "shown on the app registration's overview page, a GUID")
        return value.strip().lower() if value is not None else None

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.get_secret_value() in _KNOWN_WEAK
            or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ConfigurationError(
                "CLIENTHUB_SECRET_KEY is missing or a default; set it to a random value of at "
                "least 32 characters (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def entra_configured(self) -> bool:
        """Is "Sign in with Microsoft" offered: tenant, client id and secret all set?"""
        return bool(self.entra_tenant_id and self.entra_client_id
                    and self.entra_client_secret
                    and self.entra_client_secret.get_secret_value())

    @property
    def resolved_entra_authority(self) -> str:
        return (self.entra_authority
                or f"https://login.microsoftonline.com/{self.entra_tenant_id}").rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def resolved_database_url(self) -> str:
        # The rule lives apart, so that 'clienthub status' reads it without loading this.
        return location.resolve(self.database_url, self.data_dir)

    @property
    def allowed_server_roots(self) -> list[Path]:
        """The server roots as they resolve now (a root may itself be a symlink)."""
        return [root.resolve() for root in (self.server_roots or [self.data_dir])]

    @property
    def outbound_exceptions(self) -> list[str]:
        """CLIENTHUB_OUTBOUND_ALLOW's entries; unset, loopback in the test environment."""
        if self.outbound_allow is None:
            return list(TEST_OUTBOUND) if self.environment == "test" else []
        return list(self.outbound_allow)

    @property
    def resolved_audit_anchor_path(self) -> Path:
        return (self.audit_anchor_path or self.data_dir / "audit-anchors.log").resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
