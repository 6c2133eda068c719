"""Rule families; importing this package registers every rule."""
from . import boundary, savepoints, transactions, vocabulary

__all__ = ["boundary", "savepoints", "transactions", "vocabulary"]
