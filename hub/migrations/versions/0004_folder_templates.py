"""Folder templates (the firm's default and per client group), folder settings, and the
planned and applied fixes of client folders.

The shipped Finnish default template is seeded here, as a frozen copy of the text: a
migration must not change when the code's default does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:12:00.000000
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

DEFAULT_TEMPLATE_TEXT = """\
# The Finnish default (domain.md); admins edit it.
{customer_number} {client_name}/
  Kirjanpito/{year}/            bookkeeping, one folder per fiscal year
  Tilinpäätös/{year}/           financial statements
  Palkanlaskenta/{year}/  [payroll]  payroll, only for clients with payroll
  Verottaja/                    tax authority correspondence
  Sopimukset/                   contracts, the engagement contract
  Valtakirjat/                  authorisations
  Asiakkaan aineisto/  [inbox]  material sent by the client, to be filed
years: 1 back, 1 ahead
"""


def upgrade() -> None:
    settings = op.create_table('folder_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_text', sa.Text(), nullable=False),
    sa.Column('past_years', sa.Integer(), nullable=False),
    sa.Column('next_years', sa.Integer(), nullable=False),
    sa.Column('auto_create', sa.Boolean(), nullable=False),
    sa.Column('year_lead_days', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_folder_settings_single_row')),
    sa.CheckConstraint('past_years >= 0 AND next_years >= 0', name=op.f('ck_folder_settings_years')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_folder_settings_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_folder_settings'))
    )
    op.create_table('group_folder_templates',
    sa.Column('client_group_id', sa.Integer(), nullable=False),
    sa.Column('template_text', sa.Text(), nullable=False),
    sa.Column('past_years', sa.Integer(), nullable=False),
    sa.Column('next_years', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('past_years >= 0 AND next_years >= 0', name=op.f('ck_group_folder_templates_years')),
    sa.ForeignKeyConstraint(['client_group_id'], ['client_groups.id'], name=op.f('fk_group_folder_templates_client_group_id_client_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_group_folder_templates_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('client_group_id', name=op.f('pk_group_folder_templates'))
    )
    op.create_table('folder_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('target_client_id', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('target', sa.String(length=1000), nullable=True),
    sa.Column('is_folder', sa.Boolean(), nullable=False),
    sa.Column('finding', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('applied_by', sa.Integer(), nullable=True),
    sa.Column('applied_at', sa.DateTime(), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('changed_drive', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('retryable', sa.Boolean(), nullable=False),
    sa.Column('undone_by', sa.Integer(), nullable=True),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('create', 'rename', 'move')", name=op.f('ck_folder_actions_kind')),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'applying', 'applied', 'failed', 'stale', 'undoing', 'undone')", name=op.f('ck_folder_actions_status')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_folder_actions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['applied_by'], ['users.id'], name=op.f('fk_folder_actions_applied_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_folder_actions_approved_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_folder_actions_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_client_id'], ['clients.id'], name=op.f('fk_folder_actions_target_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['undone_by'], ['users.id'], name=op.f('fk_folder_actions_undone_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_folder_actions'))
    )
    with op.batch_alter_table('folder_actions', schema=None) as batch_op:
        batch_op.create_index('ix_folder_actions_account_status_seq', ['account_id', 'status', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_folder_actions_client_id'), ['client_id'], unique=False)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(settings, [{
        'id': 1, 'template_text': DEFAULT_TEMPLATE_TEXT, 'past_years': 1, 'next_years': 1,
        'auto_create': False, 'year_lead_days': 31, 'updated_by': None, 'updated_at': now}])


def downgrade() -> None:
    with op.batch_alter_table('folder_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_folder_actions_client_id'))
        batch_op.drop_index('ix_folder_actions_account_status_seq')

    op.drop_table('folder_actions')
    op.drop_table('group_folder_templates')
    op.drop_table('folder_settings')
