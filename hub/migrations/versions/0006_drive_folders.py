"""The drive index keeps a row per folder with its files, not a row per file.

The rows of drive_items are regrouped: a folder row per folder (and for the drive root
when files lie there), its files as arrays in name order. The drives' listing records and
cursors are dropped, so that each drive's next sync lists every folder again and finds
everything as it was (nothing reaches the timeline); local drives' file ETags and types
go (the local connector compares times and sizes, and gives neither).

Down, drive_items comes back empty and the drives' cursors are dropped again: the older
code indexes each drive anew at its next sync.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00.000000
"""

from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_EPOCH = datetime(1970, 1, 1)
_MICRO = timedelta(microseconds=1)


def _naive(value):
    """A stored time as naive UTC (SQLite hands back text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _mtime(value):
    value = _naive(value)
    return None if value is None else (value - _EPOCH) // _MICRO


def _parent(path):
    head = path.rstrip("/").rpartition("/")[0]
    return f"{head}/" if head else ""


def _name(path):
    return path.rstrip("/").rpartition("/")[2]


def _drop_drive_state(bind):
    drives = sa.text("SELECT id FROM accounts WHERE kind IN ('local', 'webdav')")
    ids = [row[0] for row in bind.execute(drives)]
    for account_id in ids:
        bind.execute(sa.text("DELETE FROM sync_cursors WHERE account_id = :a"), {"a": account_id})
        bind.execute(sa.text("DELETE FROM source_records WHERE account_id = :a AND kind IN "
                             "('file', 'folder', 'listing')"), {"a": account_id})


def upgrade() -> None:
    folders = op.create_table('drive_folders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('parent', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('file_count', sa.Integer(), nullable=False),
    sa.Column('file_bytes', sa.BigInteger(), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('modified', sa.DateTime(), nullable=True),
    sa.Column('etag', sa.String(length=200), nullable=True),
    sa.Column('stable_id', sa.String(length=100), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_drive_folders_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_drive_folders_client_id_clients'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drive_folders')),
    sa.UniqueConstraint('account_id', 'path', name=op.f('uq_drive_folders_account_id'))
    )
    with op.batch_alter_table('drive_folders', schema=None) as batch_op:
        batch_op.create_index('ix_drive_folders_children', ['account_id', 'parent'], unique=False)
        batch_op.create_index('ix_drive_folders_client_path', ['client_id', 'path'], unique=False)

    bind = op.get_bind()
    local = {row[0] for row in bind.execute(sa.text(
        "SELECT id FROM accounts WHERE kind = 'local'"))}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = bind.execute(sa.text(
        "SELECT account_id, path, parent, name, is_folder, size, content_type, modified, "
        "etag, modified_by, stable_id, client_id FROM drive_items WHERE deleted_at IS NULL "
        "ORDER BY account_id, path"))
    kept: dict[tuple[int, str], dict[str, Any]] = {}
    for (account_id, path, parent, name, is_folder, size, content_type, modified, etag,
         modified_by, stable_id, client_id) in rows:
        if is_folder:
            row = kept.setdefault((account_id, path), {"files": [], "client_id": client_id})
            row.update(client_id=client_id, modified=_naive(modified), etag=etag,
                       stable_id=stable_id)
            continue
        holder = kept.setdefault((account_id, parent), {"files": [], "client_id": client_id})
        # A local drive's connector now gives no ETags nor types (the type is guessed
        # from the name when shown): left out, its folders' rows read the same.
        entry = [name, size, _mtime(modified), stable_id,
                 None if account_id in local else etag,
                 None if account_id in local else content_type, modified_by]
        while entry[-1] is None:
            entry.pop()
        holder["files"].append(entry)
    if kept:
        bind.execute(folders.insert(), [{
            "account_id": account_id, "path": path, "parent": _parent(path),
            "name": _name(path), "client_id": row.get("client_id"),
            "files": sorted(row["files"], key=lambda f: f[0]),
            "file_count": len(row["files"]),
            "file_bytes": sum(f[1] or 0 for f in row["files"] if len(f) > 1),
            "listed": True, "modified": row.get("modified"), "etag": row.get("etag"),
            "stable_id": row.get("stable_id"), "deleted_at": None, "created_at": now,
            "updated_at": now} for (account_id, path), row in kept.items()])
    _drop_drive_state(bind)

    with op.batch_alter_table('drive_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drive_items_source_record_id'))
        batch_op.drop_index('ix_drive_items_client_path')
        batch_op.drop_index('ix_drive_items_children')
    op.drop_table('drive_items')


def downgrade() -> None:
    op.create_table('drive_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('parent', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('is_folder', sa.Boolean(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('modified', sa.DateTime(), nullable=True),
    sa.Column('etag', sa.String(length=200), nullable=True),
    sa.Column('modified_by', sa.String(length=300), nullable=True),
    sa.Column('stable_id', sa.String(length=100), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('source_record_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_drive_items_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_drive_items_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_records.id'], name=op.f('fk_drive_items_source_record_id_source_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drive_items')),
    sa.UniqueConstraint('account_id', 'path', name=op.f('uq_drive_items_account_id'))
    )
    with op.batch_alter_table('drive_items', schema=None) as batch_op:
        batch_op.create_index('ix_drive_items_children', ['account_id', 'parent', 'is_folder', 'name'], unique=False)
        batch_op.create_index('ix_drive_items_client_path', ['client_id', 'path'], unique=False)
        batch_op.create_index(batch_op.f('ix_drive_items_source_record_id'), ['source_record_id'], unique=False)
    _drop_drive_state(op.get_bind())
    with op.batch_alter_table('drive_folders', schema=None) as batch_op:
        batch_op.drop_index('ix_drive_folders_client_path')
        batch_op.drop_index('ix_drive_folders_children')
    op.drop_table('drive_folders')
