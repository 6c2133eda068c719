"""Rule families; importing this package registers every rule."""
from . import boundary, transactions, vocabulary

__all__ = ["boundary", "transactions", "vocabulary"]
