"""Search across the clients a person may see: names, business IDs, contacts, mail, notes
and file names, through SQLite FTS5 or PostgreSQL full-text search behind one service."""
