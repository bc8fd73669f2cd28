"""The drive index: files and folders of drive accounts, and which folder is which client's root.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:51:30.551793
"""

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('client_roots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("origin IN ('auto', 'manual')", name=op.f('ck_client_roots_origin')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_client_roots_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_roots_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_roots')),
    sa.UniqueConstraint('account_id', 'path', name=op.f('uq_client_roots_account_id'))
    )
    with op.batch_alter_table('client_roots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_roots_client_id'), ['client_id'], unique=False)

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



def downgrade() -> None:
    with op.batch_alter_table('drive_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drive_items_source_record_id'))
        batch_op.drop_index('ix_drive_items_client_path')
        batch_op.drop_index('ix_drive_items_children')

    op.drop_table('drive_items')
    with op.batch_alter_table('client_roots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_roots_client_id'))

    op.drop_table('client_roots')
