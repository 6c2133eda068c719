"""Rule families; importing this package registers every rule.

May import: analysis, foundations.
"""
from . import boundary, bulk, errors, forgiveness, hygiene, orm, ownership, reads, savepoints, sparse, testsuite, transactions, unit_of_work, vocabulary

__all__ = [
    "boundary",
    "bulk",
    "errors",
    "forgiveness",
    "hygiene",
    "orm",
    "ownership",
    "reads",
    "savepoints",
    "sparse",
    "testsuite",
    "transactions",
    "unit_of_work",
    "vocabulary",
]
