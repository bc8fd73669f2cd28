"""Imports every table so that ``Base.metadata`` is complete (for Alembic and tests)."""

from hub.access.models import AccessRule, AuditEntry, AuditHead, Cover, cover_clients
from hub.accounts.models import Account
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
from hub.drive.models import ClientRoot, DriveFolder
from hub.folders.models import FolderAction, FolderSettings, GroupFolderTemplate
from hub.idempotency.models import RequestKey
from hub.mail.models import (
    MailCopy,
    MailInbound,
    MailMessage,
    MailParticipant,
    MailRaw,
    MailThread,
    MailThreadKey,
    MessageClientLink,
)
from hub.staff.models import ApiToken, LoginFailure, User, WebSession
from hub.sync.models import SourceRecord, SyncCursor, SyncLease, SyncRun
from hub.timeline.models import Mention, MyWorkVisit, TimelineEntry

__all__ = [
    "AccessRule",
    "Account",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Client",
    "ClientDomain",
    "ClientGroup",
    "ClientRoot",
    "Contact",
    "ContactEmail",
    "Cover",
    "DriveFolder",
    "FolderAction",
    "FolderSettings",
    "GroupFolderTemplate",
    "LoginFailure",
    "MailCopy",
    "MailInbound",
    "MailMessage",
    "MailParticipant",
    "MailRaw",
    "MailThread",
    "MailThreadKey",
    "Mention",
    "MessageClientLink",
    "MyWorkVisit",
    "RequestKey",
    "Responsibility",
    "Role",
    "SourceRecord",
    "SpecialGroup",
    "SyncCursor",
    "SyncLease",
    "SyncRun",
    "TimelineEntry",
    "User",
    "WebSession",
    "client_special_groups",
    "cover_clients",
]
