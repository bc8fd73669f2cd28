"""Mail is fetched first and filed after: the raw bytes get ids of their own (a message
points at its bytes), and fetched copies wait in mail_inbound until they are filed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:10:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'


def _reset_sequence(table: str) -> None:
    # Rows were copied in with their ids: PostgreSQL's sequence must start after them.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                   f"coalesce(max(id), 0) + 1, false) FROM {table}")


def upgrade() -> None:
    # The old bytes were keyed by message; each keeps its message's id as its own.
    op.execute('CREATE TABLE mail_raw_old AS SELECT message_id, sha256, raw FROM mail_raw')
    op.drop_table('mail_raw')
    op.create_table('mail_raw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_raw'))
    )
    op.execute('INSERT INTO mail_raw (id, sha256, raw) '
               'SELECT message_id, sha256, raw FROM mail_raw_old')
    # A message without stored bytes (none should exist) gets an empty record of them.
    op.execute(sa.text('INSERT INTO mail_raw (id, sha256, raw) SELECT id, :sha, :raw '
                       'FROM mail_messages WHERE id NOT IN (SELECT id FROM mail_raw)')
               .bindparams(sa.bindparam('sha', EMPTY_SHA256),
                           sa.bindparam('raw', b'', type_=sa.LargeBinary())))
    op.drop_table('mail_raw_old')
    _reset_sequence('mail_raw')
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw_id', sa.Integer(), nullable=True))
    op.execute('UPDATE mail_messages SET raw_id = id')
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.alter_column('raw_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_mail_messages_raw_id'), ['raw_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_mail_messages_raw_id_mail_raw'),
                                    'mail_raw', ['raw_id'], ['id'])
    op.create_table('mail_inbound',
    sa.Column('source_record_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('raw_id', sa.Integer(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('headers_only', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_mail_inbound_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raw_id'], ['mail_raw.id'], name=op.f('fk_mail_inbound_raw_id_mail_raw'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_records.id'], name=op.f('fk_mail_inbound_source_record_id_source_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_record_id', name=op.f('pk_mail_inbound'))
    )
    op.create_index('ix_mail_inbound_account', 'mail_inbound', ['account_id', 'source_record_id'], unique=False)


def downgrade() -> None:
    # Copies still waiting to be filed are dropped with the queue; a later sync of a
    # mailbox whose cursor passed them does not fetch them again.
    op.drop_index('ix_mail_inbound_account', table_name='mail_inbound')
    op.drop_table('mail_inbound')
    op.execute('CREATE TABLE mail_raw_old AS SELECT m.id AS message_id, r.sha256, r.raw '
               'FROM mail_messages m JOIN mail_raw r ON r.id = m.raw_id')
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_mail_messages_raw_id_mail_raw'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_mail_messages_raw_id'))
        batch_op.drop_column('raw_id')
    op.drop_table('mail_raw')
    op.create_table('mail_raw',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['mail_messages.id'], name=op.f('fk_mail_raw_message_id_mail_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_mail_raw'))
    )
    op.execute('INSERT INTO mail_raw (message_id, sha256, raw) '
               'SELECT message_id, sha256, raw FROM mail_raw_old')
    op.drop_table('mail_raw_old')
