"""Every rule's valid and invalid examples, run as tests."""
import pytest

from dao_lint.testing import check_example, examples

CASES = list(examples())


@pytest.mark.parametrize(("rule", "example"), [pytest.param(r, e, id=i) for r, e, i in CASES])
def test_example(rule, example):
    check_example(rule, example)


def test_every_rule_has_both_kinds_of_example():
    from dao_lint.rules.base import registry

    for code, rule in registry.items():
        assert rule.valid, f"{code} has no valid example"
        assert rule.invalid, f"{code} has no invalid example"


FIXED = [(r, e, i) for r, e, i in CASES if getattr(e, "after", None) is not None]


@pytest.mark.parametrize(("rule", "example"), [pytest.param(r, e, id=i) for r, e, i in FIXED])
def test_fixed_example_is_stable_and_parses(rule, example):
    import ast
    import dataclasses

    from dao_lint.testing import fixed

    ast.parse(example.after)
    again = fixed(dataclasses.replace(example, code=example.after))
    assert again == example.after, "a second fix changed the result"
