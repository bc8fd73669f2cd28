"""The one exception tree of Client Hub. Every message says what went wrong and what to do.

::

    ClientHubError
    ├── ConfigurationError      settings are missing or unsafe; fix the environment
    ├── NotFound                the object does not exist *or the caller may not see it*
    ├── PermissionDenied        the caller is known but lacks a right (admin-only actions)
    ├── AuthenticationFailed    no token, or an unknown, revoked or inactive one
    │   └── TooManyAttempts     sign-ins refused for a while after repeated failures
    ├── InvalidInput            a value is malformed (carries the field name)
    │   └── InvalidBusinessId   a Finnish business ID (Y-tunnus) fails its checksum
    ├── Conflict                a unique value is already taken, or the state forbids it
    ├── SourceFailed            a drive or mail server refused or failed a change
    ├── DatabaseOutOfDate       the schema is behind the code; run ``clienthub migrate``
    └── DatabaseBusy            a change waited too long for others, or could not be stored
"""

from __future__ import annotations

from datetime import datetime


class ClientHubError(Exception):
    """Base of every error Client Hub raises on purpose."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(ClientHubError):
    status_code = 500


class NotFound(ClientHubError):
    # A client the caller may not see is reported exactly like one that does not exist.
    status_code = 404


class PermissionDenied(ClientHubError):
    status_code = 403


class AuthenticationFailed(ClientHubError):
    status_code = 401


class TooManyAttempts(AuthenticationFailed):
    """Signing in is refused, even with the right password, until ``retry_at``."""

    status_code = 429

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class InvalidInput(ClientHubError):
    status_code = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidBusinessId(InvalidInput):
    pass


class Conflict(ClientHubError):
    status_code = 409

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the input that collides, when one does


class SourceFailed(ClientHubError):
    """The message is the source's own advice (a lock to wait out, a quota to raise)."""

    status_code = 502

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class DatabaseOutOfDate(ClientHubError):
    status_code = 503


class DatabaseBusy(ClientHubError):
    """Nothing was stored; the same request may simply be sent again."""

    status_code = 503
