"""`dao-lint init`: survey a project (stack, DAO modules, sessions, the transaction
decorator), then check and plan with the proposed section to report what it would find.

May import: api, fix, running, checking, analysis, foundations.
"""
