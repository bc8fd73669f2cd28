"""The full-text index, kept by the database itself beside the tables it indexes.

What is searched lives in five tables: ``clients`` (name, business ID), ``contacts`` with
``contact_emails`` (name, role, addresses), ``timeline_entries`` of kind ``note`` (title,
text), ``mail_messages`` (subject, text) and ``drive_folders`` (the names of the files in
each folder). The database keeps the index in step with them, whoever writes: the
set-based mail batch, the one-copy filing, a note, a renamed client, the drive sink, a
migration, the demo. No service has to remember to, and nothing is written twice.

- SQLite: an FTS5 table per source (``search_<name>``). ``clients``, notes and mail are
  *external content* tables (the text is not stored twice; the triggers hand FTS5 the old
  values to delete), contacts and file names *own* their text (a contact's addresses are
  in a second table, a folder's names inside a JSON list, so a change deletes by rowid).
  Tokenizer ``unicode61 remove_diacritics 0``: ä and ö stay letters of their own.
- PostgreSQL: a generated ``search_vector`` column on each source table, with a GIN index
  (``ix_search_<table>``). Configuration ``simple``: no stemming, as on SQLite, so both
  databases find the same things. The ``finnish`` stemmer barely helps (it keeps
  ``tilinpäätös`` and makes ``tilinpäätöksen`` into ``tilinpäätöks``, which still do not
  meet), and it would bend names, business IDs and file names; prefix queries, which
  type-ahead needs anyway, find most inflected forms from their stem.

Titles weigh ``A`` and texts ``B`` on PostgreSQL (a ``subject`` reader's query asks for
``A`` only); on SQLite the title is the first column of its table.

Only the first :data:`TEXT_LIMIT` characters of a mail or a note are indexed: a tsvector
holds at most 1 MB, and a longer text must not make its message fail to file.

Alembic's comparison of models and database leaves these objects out
(:func:`include_name`). A later migration that rebuilds one of the source tables on
SQLite (``batch_alter_table``) drops its triggers with it and must call
:func:`install_triggers` again.
"""

# Every statement here is made of this module's own constants, none of anyone's input.
# ruff: noqa: S608

from __future__ import annotations

from sqlalchemy import Connection

TOKENIZER = "unicode61 remove_diacritics 0"
TEXT_LIMIT = 100_000
CONFIG = "simple"

#: SQLite FTS5 tables: name -> (columns, external content table or None).
FTS_TABLES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "search_clients": (("name", "business_id"), "clients"),
    "search_contacts": (("name", "role", "emails"), None),
    "search_notes": (("title", "body"), "timeline_entries"),
    "search_mail": (("subject", "text"), "mail_messages"),
    "search_files": (("names",), None),
}

# --- SQLite -------------------------------------------------------------------------------

_CONTACT_ROW = """
  DELETE FROM search_contacts WHERE rowid = {id};
  INSERT INTO search_contacts (rowid, name, role, emails)
    SELECT c.id, c.name, c.role,
           coalesce((SELECT group_concat(e.email, ' ') FROM contact_emails e
                     WHERE e.contact_id = c.id), '')
    FROM contacts c WHERE c.id = {id};"""

_FILE_NAMES = ("(SELECT group_concat(json_extract(f.value, '$[0]'), char(10)) "
               "FROM json_each({files}) f)")

_SQLITE_TRIGGERS: dict[str, str] = {
    # Clients
    "search_clients_ai": """AFTER INSERT ON clients BEGIN
  INSERT INTO search_clients (rowid, name, business_id)
    VALUES (new.id, new.name, new.business_id);
END""",
    "search_clients_ad": """AFTER DELETE ON clients BEGIN
  INSERT INTO search_clients (search_clients, rowid, name, business_id)
    VALUES ('delete', old.id, old.name, old.business_id);
END""",
    "search_clients_au": """AFTER UPDATE OF name, business_id ON clients BEGIN
  INSERT INTO search_clients (search_clients, rowid, name, business_id)
    VALUES ('delete', old.id, old.name, old.business_id);
  INSERT INTO search_clients (rowid, name, business_id)
    VALUES (new.id, new.name, new.business_id);
END""",
    # Contacts and their addresses
    "search_contacts_ai": "AFTER INSERT ON contacts BEGIN" + _CONTACT_ROW.format(
        id="new.id") + "\nEND",
    "search_contacts_au": "AFTER UPDATE OF name, role ON contacts BEGIN" + _CONTACT_ROW.format(
        id="new.id") + "\nEND",
    "search_contacts_ad": """AFTER DELETE ON contacts BEGIN
  DELETE FROM search_contacts WHERE rowid = old.id;
END""",
    "search_contact_emails_ai": "AFTER INSERT ON contact_emails BEGIN" + _CONTACT_ROW.format(
        id="new.contact_id") + "\nEND",
    "search_contact_emails_au": "AFTER UPDATE ON contact_emails BEGIN"
    + _CONTACT_ROW.format(id="old.contact_id") + _CONTACT_ROW.format(id="new.contact_id")
    + "\nEND",
    "search_contact_emails_ad": "AFTER DELETE ON contact_emails BEGIN" + _CONTACT_ROW.format(
        id="old.contact_id") + "\nEND",
    # Notes (the other kinds of entry are searched at their source)
    "search_notes_ai": f"""AFTER INSERT ON timeline_entries WHEN new.kind = 'note' BEGIN
  INSERT INTO search_notes (rowid, title, body)
    VALUES (new.id, new.title, substr(new.body, 1, {TEXT_LIMIT}));
END""",
    "search_notes_ad": f"""AFTER DELETE ON timeline_entries WHEN old.kind = 'note' BEGIN
  INSERT INTO search_notes (search_notes, rowid, title, body)
    VALUES ('delete', old.id, old.title, substr(old.body, 1, {TEXT_LIMIT}));
END""",
    "search_notes_au": f"""AFTER UPDATE OF kind, title, body ON timeline_entries
WHEN old.kind = 'note' OR new.kind = 'note' BEGIN
  INSERT INTO search_notes (search_notes, rowid, title, body)
    SELECT 'delete', old.id, old.title, substr(old.body, 1, {TEXT_LIMIT})
    WHERE old.kind = 'note';
  INSERT INTO search_notes (rowid, title, body)
    SELECT new.id, new.title, substr(new.body, 1, {TEXT_LIMIT}) WHERE new.kind = 'note';
END""",
    # Mail
    "search_mail_ai": f"""AFTER INSERT ON mail_messages BEGIN
  INSERT INTO search_mail (rowid, subject, text)
    VALUES (new.id, new.subject, substr(new.text, 1, {TEXT_LIMIT}));
END""",
    "search_mail_ad": f"""AFTER DELETE ON mail_messages BEGIN
  INSERT INTO search_mail (search_mail, rowid, subject, text)
    VALUES ('delete', old.id, old.subject, substr(old.text, 1, {TEXT_LIMIT}));
END""",
    "search_mail_au": f"""AFTER UPDATE OF subject, text ON mail_messages
WHEN old.subject IS NOT new.subject OR old.text IS NOT new.text BEGIN
  INSERT INTO search_mail (search_mail, rowid, subject, text)
    VALUES ('delete', old.id, old.subject, substr(old.text, 1, {TEXT_LIMIT}));
  INSERT INTO search_mail (rowid, subject, text)
    VALUES (new.id, new.subject, substr(new.text, 1, {TEXT_LIMIT}));
END""",
    # File names, from each folder's list of files
    "search_files_ai": f"""AFTER INSERT ON drive_folders BEGIN
  INSERT INTO search_files (rowid, names)
    SELECT new.id, {_FILE_NAMES.format(files="new.files")};
END""",
    "search_files_au": f"""AFTER UPDATE OF files ON drive_folders
WHEN old.files IS NOT new.files BEGIN
  DELETE FROM search_files WHERE rowid = old.id;
  INSERT INTO search_files (rowid, names)
    SELECT new.id, {_FILE_NAMES.format(files="new.files")};
END""",
    "search_files_ad": """AFTER DELETE ON drive_folders BEGIN
  DELETE FROM search_files WHERE rowid = old.id;
END""",
}

_SQLITE_FILL = {
    "search_clients": "INSERT INTO search_clients (rowid, name, business_id) "
                      "SELECT id, name, business_id FROM clients",
    "search_contacts": "INSERT INTO search_contacts (rowid, name, role, emails) "
                       "SELECT c.id, c.name, c.role, coalesce((SELECT group_concat(e.email, ' ') "
                       "FROM contact_emails e WHERE e.contact_id = c.id), '') FROM contacts c",
    "search_notes": f"INSERT INTO search_notes (rowid, title, body) SELECT id, title, "
                    f"substr(body, 1, {TEXT_LIMIT}) FROM timeline_entries WHERE kind = 'note'",
    "search_mail": f"INSERT INTO search_mail (rowid, subject, text) SELECT id, subject, "
                   f"substr(text, 1, {TEXT_LIMIT}) FROM mail_messages",
    "search_files": "INSERT INTO search_files (rowid, names) SELECT d.id, "
                    + _FILE_NAMES.format(files="d.files") + " FROM drive_folders d",
}


def _create_fts(conn: Connection, name: str) -> None:
    columns, content = FTS_TABLES[name]
    # No prefix indexes (prefix='2 3'): they doubled what indexing a message costs the
    # mail sync, and a prefix query reads the range of its words fast enough without.
    options = [*columns, f"tokenize = '{TOKENIZER}'"]
    if content is not None:
        options += [f"content = '{content}'", "content_rowid = 'id'"]
    conn.exec_driver_sql(f"CREATE VIRTUAL TABLE {name} USING fts5({', '.join(options)})")


def install_triggers(conn: Connection) -> None:
    """(Re)create the SQLite triggers that keep the FTS5 tables in step."""
    for name, body in _SQLITE_TRIGGERS.items():
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE TRIGGER {name} {body}")


# --- PostgreSQL ---------------------------------------------------------------------------


def _vector(text: str, weight: str | None = None) -> str:
    vector = f"to_tsvector('{CONFIG}', {text})"
    return f"setweight({vector}, '{weight}')" if weight else vector


#: Characters that join the words of an address, a business ID or a file name: split there
#: as SQLite's tokenizer does, so that "virtanen" finds matti.virtanen@yritys.fi.
JOINERS = "@._-+"
_SPLIT = f"translate({{}}, '{JOINERS}', '{' ' * len(JOINERS)}')"

#: table -> (expression of the generated column, WHERE of a partial index or None)
PG_VECTORS: dict[str, tuple[str, str | None]] = {
    "clients": (_vector("coalesce(name, '')", "A") + " || "
                + _vector(_SPLIT.format("coalesce(business_id, '')"), "B"), None),
    "contacts": (_vector("coalesce(name, '')", "A") + " || "
                 + _vector("coalesce(role, '')", "B"), None),
    "contact_emails": (_vector(_SPLIT.format("coalesce(email, '')"), "B"), None),
    "timeline_entries": (
        "CASE WHEN kind = 'note' THEN "
        + _vector("coalesce(title, '')", "A") + " || "
        + _vector(f"left(coalesce(body, ''), {TEXT_LIMIT})", "B") + " END",
        "kind = 'note'"),
    "mail_messages": (_vector("coalesce(subject, '')", "A") + " || "
                      + _vector(f"left(coalesce(text, ''), {TEXT_LIMIT})", "B"), None),
    "drive_folders": (_vector(_SPLIT.format(
        "jsonb_path_query_array(coalesce(files::jsonb, '[]'::jsonb), '$[*][0]')::text"), "A"),
        None),
}

# --- both ---------------------------------------------------------------------------------


def install(conn: Connection) -> None:
    """Create the index and fill it from what the tables hold now."""
    if conn.dialect.name == "sqlite":
        for name in FTS_TABLES:
            _create_fts(conn, name)
            conn.exec_driver_sql(_SQLITE_FILL[name])
        install_triggers(conn)
        return
    for table, (expression, where) in PG_VECTORS.items():
        # Adding a stored generated column computes it for every row already there.
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                             f"GENERATED ALWAYS AS ({expression}) STORED")
        partial = f" WHERE {where}" if where else ""
        conn.exec_driver_sql(f"CREATE INDEX ix_search_{table} ON {table} "
                             f"USING gin (search_vector){partial}")


def remove(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        for name in FTS_TABLES:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        return
    for table in PG_VECTORS:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_search_{table}")
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic's ``include_name``: the index is not in the models, so comparing the
    models with the database leaves it out (the FTS5 tables and their shadow tables, the
    generated columns and their indexes)."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith("search_")
    if type_ == "column":
        return name != "search_vector"
    if type_ == "index":
        return not name.startswith("ix_search_")
    return True


__all__ = ["CONFIG", "FTS_TABLES", "JOINERS", "PG_VECTORS", "TEXT_LIMIT", "include_name",
           "install", "install_triggers", "remove"]
