"""Shared semantics: what is a session, a DAO, a test, a boundary (libcst metadata providers).

May import: foundations.
"""
from .context import FileContext, FileContextProvider
from .dao import CodeScope, DaoFacts
from .session import Action, Origin, SessionFacts, SessionUse

__all__ = [
    "Action",
    "CodeScope",
    "DaoFacts",
    "FileContext",
    "FileContextProvider",
    "Origin",
    "SessionFacts",
    "SessionUse",
]
