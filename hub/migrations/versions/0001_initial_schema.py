"""Initial schema, the default roles and access rules, and the append-only audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:28:50.381835
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entries_hash'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_user_id'), ['actor_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_client_id'), ['client_id'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_entry_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('client_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starting_customer_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_client_groups_name'))
    )
    op.create_table('roles',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_fi', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_roles'))
    )
    op.create_table('special_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_special_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_special_groups_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('access_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('client_group_id', sa.Integer(), nullable=True),
    sa.Column('special_group_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(subject = 'role') = (role IS NOT NULL)", name=op.f('ck_access_rules_role_only_for_role_subject')),
    sa.CheckConstraint("level IN ('none', 'metadata', 'subject', 'full')", name=op.f('ck_access_rules_level')),
    sa.CheckConstraint("subject IN ('role', 'admin', 'staff')", name=op.f('ck_access_rules_subject')),
    sa.ForeignKeyConstraint(['client_group_id'], ['client_groups.id'], name=op.f('fk_access_rules_client_group_id_client_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role'], ['roles.key'], name=op.f('fk_access_rules_role_roles'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['special_group_id'], ['special_groups.id'], name=op.f('fk_access_rules_special_group_id_special_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_rules'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('business_id', sa.String(length=9), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('customer_number', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('prospect', 'active', 'archived')", name=op.f('ck_clients_status')),
    sa.ForeignKeyConstraint(['group_id'], ['client_groups.id'], name=op.f('fk_clients_group_id_client_groups'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('business_id', name=op.f('uq_clients_business_id')),
    sa.UniqueConstraint('customer_number', name=op.f('uq_clients_customer_number'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clients_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_name_key'), ['name_key'], unique=False)

    op.create_table('covers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('absent_user_id', sa.Integer(), nullable=False),
    sa.Column('covering_user_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('valid_until', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('narrowed', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('absent_user_id <> covering_user_id', name=op.f('ck_covers_not_self')),
    sa.CheckConstraint('valid_until > valid_from', name=op.f('ck_covers_period')),
    sa.ForeignKeyConstraint(['absent_user_id'], ['users.id'], name=op.f('fk_covers_absent_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['covering_user_id'], ['users.id'], name=op.f('fk_covers_covering_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_covers_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_covers'))
    )
    with op.batch_alter_table('covers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_covers_absent_user_id'), ['absent_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_covers_covering_user_id'), ['covering_user_id'], unique=False)

    op.create_table('client_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_domains_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_domains')),
    sa.UniqueConstraint('client_id', 'domain', name=op.f('uq_client_domains_client_id'))
    )
    with op.batch_alter_table('client_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_domains_domain'), ['domain'], unique=False)

    op.create_table('client_special_groups',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('special_group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_special_groups_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['special_group_id'], ['special_groups.id'], name=op.f('fk_client_special_groups_special_group_id_special_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', 'special_group_id', name=op.f('pk_client_special_groups'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_contacts_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_client_id'), ['client_id'], unique=False)

    op.create_table('cover_clients',
    sa.Column('cover_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_cover_clients_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cover_id'], ['covers.id'], name=op.f('fk_cover_clients_cover_id_covers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cover_id', 'client_id', name=op.f('pk_cover_clients'))
    )
    op.create_table('responsibilities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=True),
    sa.Column('valid_until', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from', name=op.f('ck_responsibilities_period')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_responsibilities_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role'], ['roles.key'], name=op.f('fk_responsibilities_role_roles'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_responsibilities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responsibilities'))
    )
    with op.batch_alter_table('responsibilities', schema=None) as batch_op:
        batch_op.create_index('ix_responsibilities_client_user', ['client_id', 'user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_responsibilities_user_id'), ['user_id'], unique=False)

    op.create_table('timeline_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('source_ref', sa.String(length=500), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('is_private', sa.Boolean(), nullable=False),
    sa.Column('private_to', sa.JSON(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_timeline_entries_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_timeline_entries_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_timeline_entries_owner_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_entries')),
    sa.UniqueConstraint('client_id', 'source_kind', 'source_ref', name='uq_timeline_source')
    )
    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.create_index('ix_timeline_client_time', ['client_id', 'occurred_at', 'id'], unique=False)

    op.create_table('contact_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_emails_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_emails')),
    sa.UniqueConstraint('contact_id', 'email', name=op.f('uq_contact_emails_contact_id'))
    )
    with op.batch_alter_table('contact_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_emails_email'), ['email'], unique=False)

    op.create_table('mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['timeline_entries.id'], name=op.f('fk_mentions_entry_id_timeline_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mentions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentions')),
    sa.UniqueConstraint('entry_id', 'user_id', name=op.f('uq_mentions_entry_id'))
    )
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mentions_user_id'), ['user_id'], unique=False)

    
    _seed_defaults()
    _create_audit_guards()


def downgrade() -> None:
    _drop_audit_guards()
    
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mentions_user_id'))

    op.drop_table('mentions')
    with op.batch_alter_table('contact_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_emails_email'))

    op.drop_table('contact_emails')
    with op.batch_alter_table('timeline_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_timeline_client_time')

    op.drop_table('timeline_entries')
    with op.batch_alter_table('responsibilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responsibilities_user_id'))
        batch_op.drop_index('ix_responsibilities_client_user')

    op.drop_table('responsibilities')
    op.drop_table('cover_clients')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_client_id'))

    op.drop_table('contacts')
    op.drop_table('client_special_groups')
    with op.batch_alter_table('client_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_domains_domain'))

    op.drop_table('client_domains')
    with op.batch_alter_table('covers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_covers_covering_user_id'))
        batch_op.drop_index(batch_op.f('ix_covers_absent_user_id'))

    op.drop_table('covers')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_name_key'))
        batch_op.drop_index(batch_op.f('ix_clients_group_id'))

    op.drop_table('clients')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('access_rules')
    op.drop_table('users')
    op.drop_table('special_groups')
    op.drop_table('roles')
    op.drop_table('client_groups')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_client_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_user_id'))

    op.drop_table('audit_entries')
    


# Default responsibility roles; admins edit the list later (name_fi, name_en).
DEFAULT_ROLES = [
    ("asiakasvastaava", "Asiakasvastaava", "Responsible person"),
    ("kirjanpitaja", "Kirjanpitäjä", "Bookkeeper"),
    ("palkanlaskija", "Palkanlaskija", "Payroll specialist"),
    ("tilinpaatoksen_laatija", "Tilinpäätöksen laatija", "Financial statements preparer"),
    ("veroasiantuntija", "Veroasiantuntija", "Tax specialist"),
    ("myyja", "Myyjä", "Seller"),
]


def _seed_defaults() -> None:
    roles = sa.table("roles", sa.column("key"), sa.column("name_fi"), sa.column("name_en"))
    op.bulk_insert(roles, [{"key": k, "name_fi": fi, "name_en": en} for k, fi, en in DEFAULT_ROLES])
    # Responsible people (and, through covers, whoever stands in for them) see their
    # clients in full. No rule for admins or staff: everyone else sees nothing.
    rules = sa.table(
        "access_rules",
        sa.column("subject"),
        sa.column("role"),
        sa.column("level"),
        sa.column("created_at", sa.DateTime()),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(
        rules,
        [{"subject": "role", "role": k, "level": "full", "created_at": now} for k, _, _ in DEFAULT_ROLES],
    )
    head = sa.table(
        "audit_head", sa.column("id"), sa.column("last_entry_id"), sa.column("last_hash")
    )
    op.bulk_insert(head, [{"id": 1, "last_entry_id": 0, "last_hash": "0" * 64}])


def _create_audit_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'the audit trail is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entries_no_{event.lower()} BEFORE {event} ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
            )


def _drop_audit_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
