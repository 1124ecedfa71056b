"""The app's own store (customers, orders, payments, outbox...), SQLAlchemy 2.0-style."""
from grace.store.db import get_engine, session_scope

__all__ = ["get_engine", "session_scope"]
