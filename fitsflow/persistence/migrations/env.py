"""Alembic environment: runs against the connection fitsflow hands it."""

from alembic import context
from sqlmodel import SQLModel

from fitsflow.persistence import models, search_store  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      include_name=search_store.outside_metadata)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
