"""The decorator's import goes where isort / ruff's isort rules would put it."""
import libcst as cst
import pytest

from dao_lint.codemods.imports import add_import

from .helpers import dedent

CASES = [
    pytest.param(
        '''
        """Doc."""
        import os

        from flask import request

        from blog.daos.post import PostDAO
        from blog.views import render


        class A:
            pass
        ''',
        '''
        """Doc."""
        import os

        from flask import request

        from blog.daos.post import PostDAO
        from blog.utils import transaction
        from blog.views import render


        class A:
            pass
        ''',
        id="sorted-into-first-party",
    ),
    pytest.param(
        """
        import os

        from flask import request


        def f():
            pass
        """,
        """
        import os

        from flask import request

        from blog.utils import transaction


        def f():
            pass
        """,
        id="a-first-party-section-of-its-own",
    ),
    pytest.param(
        """
        from blog.views import render
        """,
        """
        from blog.utils import transaction
        from blog.views import render
        """,
        id="first-of-its-section",
    ),
    pytest.param(
        """
        from blog.utils import log, timed

        x = 1
        """,
        """
        from blog.utils import log, timed, transaction

        x = 1
        """,
        id="joins-the-module's-import",
    ),
    pytest.param(
        """
        from blog.utils import (
            log,
            timed,
        )
        """,
        """
        from blog.utils import (
            log,
            timed,
            transaction,
        )
        """,
        id="one-name-per-line",
    ),
    pytest.param(
        '''
        """Doc."""


        class A:
            pass
        ''',
        '''
        """Doc."""

        from blog.utils import transaction


        class A:
            pass
        ''',
        id="no-imports-yet",
    ),
    pytest.param(
        # relative imports are a section of their own, after the project's absolute ones
        '''
        """Doc."""
        import logging

        from flask import request

        from .lib.utils import send_result
        from ..lib.log import log_with
        ''',
        '''
        """Doc."""
        import logging

        from flask import request

        from blog.utils import transaction

        from .lib.utils import send_result
        from ..lib.log import log_with
        ''',
        id="before-the-relative-imports",
    ),
    pytest.param(
        '''
        from blog.models import Post

        from .helpers import render
        ''',
        '''
        from blog.models import Post
        from blog.utils import transaction

        from .helpers import render
        ''',
        id="into-first-party-not-local",
    ),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_import_placement(before, after):
    result = add_import(cst.parse_module(dedent(before)), "blog.utils", "transaction", ("blog",)).code
    assert result == dedent(after)
    assert add_import(cst.parse_module(result), "blog.utils", "transaction", ("blog",)).code == result  # once


def test_a_third_party_import_goes_before_the_project_s_own():
    result = add_import(cst.parse_module("from blog.models import Post\n"), "sqlalchemy", "event", ("blog",)).code
    assert result == "from sqlalchemy import event\n\nfrom blog.models import Post\n"
