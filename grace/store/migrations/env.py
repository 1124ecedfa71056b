"""Alembic environment for the app store.

`grace.store.migrate` hands over the connection it holds the migration lock on; the `alembic`
command (with alembic.ini) gets the configured store instead. Only the app's own tables are
compared: Rasa's tracker store and event broker may live in the same database.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from grace.config import load_settings
from grace.store.migrate import include_object
from grace.store.models import Base


def run_on(connection) -> None:
    # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=Base.metadata, include_object=include_object,
                      compare_type=True, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


config = context.config
if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url") or load_settings().database_url,
                      target_metadata=Base.metadata, literal_binds=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    run_on(config.attributes["connection"])
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or load_settings().database_url, future=True)
    with engine.connect() as connection:
        run_on(connection)
        connection.commit()
