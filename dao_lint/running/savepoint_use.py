"""A project fact: whether any file under the configuration root calls `.begin_nested()`
(DAO112 asks it: a SQLite engine needs pysqlite's fix only then)."""
from __future__ import annotations

import os

from ..foundations.config import Config, ConfigResolver
from .discovery import PathError, collect_files

__all__ = ["project_uses_begin_nested", "forget_project_facts"]

_NESTED_BY_ROOT: dict = {}


def forget_project_facts() -> None:
    """A project fact holds for one run: files may change between runs."""
    _NESTED_BY_ROOT.clear()



def project_uses_begin_nested(config: Config, cache=None) -> bool:  # noqa: ANN001
    """Whether a Python file under the configuration's root calls `.begin_nested()`.

    Files are read as bytes and only those containing the word are parsed and analysed,
    so the answer costs one directory walk per root and process.
    """
    root = os.path.abspath(config.root)
    if root in _NESTED_BY_ROOT:
        return _NESTED_BY_ROOT[root]
    from ..analysis import Action, FileContext, FileContextProvider, SessionFacts

    answer = False
    known = {}
    record = os.path.join(cache.directory, "begin_nested.pickle") if cache is not None else None
    if record is not None:
        try:
            import pickle

            with open(record, "rb") as handle:
                known = pickle.load(handle)
        except Exception:  # noqa: BLE001 - no record yet, or a damaged one
            known = {}
    seen = {}
    try:
        files = collect_files([root], ConfigResolver())
    except PathError:
        files = []
    for path, file_config in files:
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError:
            continue
        if b"begin_nested" not in source:
            continue
        import hashlib

        digest = hashlib.sha256(source).hexdigest()
        if digest in known:
            seen[digest] = known[digest]
            if known[digest]:
                answer = True
                break
            continue
        try:
            import libcst as cst
            from libcst.metadata import MetadataWrapper

            module = cst.parse_module(source)
            context = FileContext.for_path(path, file_config)
            facts = MetadataWrapper(module, cache={FileContextProvider: context}).resolve(SessionFacts)
        except Exception:  # noqa: BLE001 - an unparsable file answers nothing
            continue
        uses = any(getattr(fact, "action", None) is Action.BEGIN_NESTED for fact in facts.values())
        seen[digest] = uses
        if uses:
            answer = True
            break
    if record is not None and seen != known:
        try:
            import pickle

            from ..foundations.files import write_atomic

            os.makedirs(os.path.dirname(record), exist_ok=True)
            write_atomic(record, pickle.dumps({**known, **seen}), durable=False)
        except OSError:
            pass
    _NESTED_BY_ROOT[root] = answer
    return answer
