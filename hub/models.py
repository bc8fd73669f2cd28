"""Imports every table so that ``Base.metadata`` is complete (for Alembic and tests)."""

from hub.access.models import AccessRule, AuditEntry, AuditHead, Cover, cover_clients
from hub.clients.models import (
    Client,
    ClientDomain,
    ClientGroup,
    Contact,
    ContactEmail,
    Responsibility,
    Role,
    SpecialGroup,
    client_special_groups,
)
from hub.db import Base
from hub.staff.models import ApiToken, User
from hub.timeline.models import Mention, TimelineEntry

__all__ = [
    "AccessRule",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Client",
    "ClientDomain",
    "ClientGroup",
    "Contact",
    "ContactEmail",
    "Cover",
    "Mention",
    "Responsibility",
    "Role",
    "SpecialGroup",
    "TimelineEntry",
    "User",
    "client_special_groups",
    "cover_clients",
]
