"""Accounts with encrypted secrets, sync state, and mail: messages, threads, links.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:06:43.587336
"""

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('mail_threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_key', sa.String(length=300), nullable=False),
    sa.Column('last_message_at', sa.DateTime(), nullable=True),
    sa.Column('is_private', sa.Boolean(), nullable=False),
    sa.Column('private_by', sa.Integer(), nullable=True),
    sa.Column('private_to', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_threads'))
    )
    with op.batch_alter_table('mail_threads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_threads_subject_key'), ['subject_key'], unique=False)

    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('share_level', sa.String(length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("secret IS NULL OR secret LIKE 'chv1:%'", name=op.f('ck_accounts_secret_encrypted')),
    sa.CheckConstraint("share_level IN ('full', 'subject', 'metadata')", name=op.f('ck_accounts_share_level')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_accounts_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_owner_user_id'), ['owner_user_id'], unique=False)

    op.create_table('mail_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_key', sa.String(length=500), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sender_name', sa.String(length=300), nullable=False),
    sa.Column('sender_address', sa.String(length=320), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('snippet', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('auto_submitted', sa.Boolean(), nullable=False),
    sa.Column('headers_only', sa.Boolean(), nullable=False),
    sa.Column('parse_failed', sa.Boolean(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('internal_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['mail_threads.id'], name=op.f('fk_mail_messages_thread_id_mail_threads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages')),
    sa.UniqueConstraint('message_key', name=op.f('uq_mail_messages_message_key'))
    )
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.create_index('ix_mail_messages_thread_sent', ['thread_id', 'sent_at'], unique=False)

    op.create_table('mail_thread_keys',
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['mail_threads.id'], name=op.f('fk_mail_thread_keys_thread_id_mail_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_mail_thread_keys'))
    )
    with op.batch_alter_table('mail_thread_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_thread_keys_thread_id'), ['thread_id'], unique=False)

    op.create_table('mail_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['mail_messages.id'], name=op.f('fk_mail_participants_message_id_mail_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_participants')),
    sa.UniqueConstraint('message_id', 'address', 'role', name=op.f('uq_mail_participants_message_id'))
    )
    with op.batch_alter_table('mail_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_participants_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_participants_domain'), ['domain'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_participants_message_id'), ['message_id'], unique=False)

    op.create_table('mail_raw',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['mail_messages.id'], name=op.f('fk_mail_raw_message_id_mail_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_mail_raw'))
    )
    op.create_table('message_client_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("origin IN ('contact', 'domain', 'manual')", name=op.f('ck_message_client_links_origin')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_message_client_links_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['mail_messages.id'], name=op.f('fk_message_client_links_message_id_mail_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_client_links')),
    sa.UniqueConstraint('message_id', 'client_id', name=op.f('uq_message_client_links_message_id'))
    )
    with op.batch_alter_table('message_client_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_client_links_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_client_links_message_id'), ['message_id'], unique=False)

    op.create_table('source_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('stream', sa.String(length=300), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_source_records_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_records')),
    sa.UniqueConstraint('account_id', 'stream', 'external_id', name=op.f('uq_source_records_account_id'))
    )
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_records_target_id'), ['target_id'], unique=False)

    op.create_table('sync_cursors',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('stream', sa.String(length=300), nullable=False),
    sa.Column('cursor', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sync_cursors_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'stream', name=op.f('pk_sync_cursors'))
    )
    op.create_table('sync_leases',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sync_leases_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_sync_leases'))
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('stream', sa.String(length=300), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('unparsed', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('lag_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sync_runs_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sync_runs_account_started', ['account_id', 'started_at'], unique=False)

    op.create_table('mail_copies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('source_record_id', sa.Integer(), nullable=False),
    sa.Column('folder', sa.String(length=300), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_mail_copies_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['mail_messages.id'], name=op.f('fk_mail_copies_message_id_mail_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_records.id'], name=op.f('fk_mail_copies_source_record_id_source_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_copies')),
    sa.UniqueConstraint('source_record_id', name=op.f('uq_mail_copies_source_record_id'))
    )
    with op.batch_alter_table('mail_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_copies_message_id'), ['message_id'], unique=False)

    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('share_level', sa.String(length=16), nullable=False, server_default='full'))

    


def downgrade() -> None:
    
    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.drop_column('share_level')
        batch_op.drop_column('owner_ids')

    with op.batch_alter_table('mail_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_copies_message_id'))

    op.drop_table('mail_copies')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_runs_account_started')

    op.drop_table('sync_runs')
    op.drop_table('sync_leases')
    op.drop_table('sync_cursors')
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_records_target_id'))

    op.drop_table('source_records')
    with op.batch_alter_table('message_client_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_client_links_message_id'))
        batch_op.drop_index(batch_op.f('ix_message_client_links_client_id'))

    op.drop_table('message_client_links')
    op.drop_table('mail_raw')
    with op.batch_alter_table('mail_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_participants_message_id'))
        batch_op.drop_index(batch_op.f('ix_mail_participants_domain'))
        batch_op.drop_index(batch_op.f('ix_mail_participants_address'))

    op.drop_table('mail_participants')
    with op.batch_alter_table('mail_thread_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_thread_keys_thread_id'))

    op.drop_table('mail_thread_keys')
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_messages_thread_sent')

    op.drop_table('mail_messages')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_owner_user_id'))

    op.drop_table('accounts')
    with op.batch_alter_table('mail_threads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_threads_subject_key'))

    op.drop_table('mail_threads')
    
