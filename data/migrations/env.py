"""Alembic environment for the metadata database.

`data.store.Store` runs the migrations itself, on a connection it has already opened inside a write
transaction (and, on PostgreSQL, under an advisory lock): that transaction is what makes two processes
starting at once safe, so this file only hands the connection to Alembic. There is no alembic.ini;
`alembic revision -m "…"` works with `-c` pointing at any ini whose script_location is this folder.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
