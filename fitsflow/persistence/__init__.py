"""Persistence: SQLModel tables, the engine and transactions. The only place queries live."""
