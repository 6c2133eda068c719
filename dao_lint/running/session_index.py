"""The session model of each project a run checks: its files sketched (cached by content),
the model built (`dao_lint.sessions`), and attached to the files' configurations, so that
every file's analysis, and every cache key, sees the same model whichever paths were named.

Which files are sketched depends on their content alone (never on what a cache holds):
first every file that mentions sessions (`session`, `Session`, `sessionmaker`, `Depends`,
`contextmanager`), then, until nothing changes, every file that mentions a name the model
found to give a session (`open_db`, `SessionLocal`): a file that names none of them cannot
make a value of its own a session.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..foundations.vocabulary import module_name
from ..foundations.config import Config
from ..foundations.files import write_atomic
from ..model.session_model import ProjectSessions
from ..model.sessions import build_sessions
from ..model.sketch import FileSketch, sketch_source

__all__ = ["attach_sessions", "sessions_of_files"]

_FIRST_TOKENS = (b"ession", b"Depends", b"contextmanager")
_ROUNDS = 4
_CACHE_FILE = "sketches.pickle"


def _where(path: str, config: Config) -> Tuple[str, str, bool, bool]:
    relpath = config.relpath(path)
    return path, module_name(relpath), relpath.endswith("__init__.py"), config.is_dao_module(relpath)


def _sketch_item(item: Tuple[str, str, bool, bool, Optional[bytes]]) -> Optional[FileSketch]:
    path, module, package, dao, content = item
    if content is None:
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError:
            return None
    return sketch_source(content, path, module, package, dao)


def _load(cache_dir: Optional[str]) -> Dict[str, FileSketch]:
    if cache_dir is None:
        return {}
    from .cache import code_fingerprint

    try:
        with open(os.path.join(cache_dir, _CACHE_FILE), "rb") as handle:
            stored = pickle.load(handle)
        return stored["sketches"] if stored.get("code") == code_fingerprint() else {}
    except Exception:  # noqa: BLE001 - none yet, damaged, or another version's
        return {}


def _save(cache_dir: Optional[str], sketches: Dict[str, FileSketch]) -> None:
    if cache_dir is None:
        return
    from .cache import code_fingerprint, prepare_directory

    try:
        prepare_directory(cache_dir, cache_dir)
        data = pickle.dumps({"code": code_fingerprint(), "sketches": sketches}, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(os.path.join(cache_dir, _CACHE_FILE), data, durable=False)
    except OSError:
        pass  # read-only: the next run sketches again


def sessions_of_files(
    files: Sequence[Tuple[str, Config]], jobs: Optional[int] = None, cache_dir: Optional[str] = None,
    contents: Optional[Dict[str, Optional[bytes]]] = None,
) -> ProjectSessions:
    """The session model of one project (these files, under one configuration root)."""
    from .workers import map_in_processes

    contents = dict(contents or {})
    for path, _ in files:
        if contents.get(path) is None:
            try:
                with open(path, "rb") as handle:
                    contents[path] = handle.read()
            except OSError:
                contents[path] = None
    where = {path: _where(path, config) for path, config in files}
    digests = {p: hashlib.sha256(c).hexdigest() for p, c in contents.items() if c is not None}
    cached = _load(cache_dir)
    known: Dict[str, FileSketch] = {}
    fresh = False
    sketched: Dict[str, Optional[FileSketch]] = {}
    tokens: Tuple[bytes, ...] = _FIRST_TOKENS
    searched: set = set()
    config = files[0][1] if files else Config()
    dao_modules = frozenset(where[p][1] for p, _ in files if where[p][3])
    model = ProjectSessions({}, dao_modules)
    for _ in range(_ROUNDS):
        # (the DAO modules always: the model says which of their functions touch no database)
        chosen = [p for p, c in contents.items() if p not in sketched and c is not None and (where[p][3] or any(t in c for t in tokens))]
        if not chosen:
            break
        missing = []
        for path in chosen:
            hit = cached.get(f"{digests[path]}:{where[path][3]}")
            if hit is not None:
                _, module, package, _ = where[path]
                sketched[path] = dataclasses.replace(hit, path=path, module=module, is_package=package)
            else:
                missing.append((*where[path], contents[path]))
        for item, sketch in zip(missing, map_in_processes(_sketch_item, missing, jobs)):
            sketched[item[0]] = sketch
            if sketch is not None:
                known[f"{digests[item[0]]}:{item[3]}"] = dataclasses.replace(sketch, path="", module="")
                fresh = True
        model = build_sessions([s for s in sketched.values() if s is not None], config.session_names, dao_modules)
        names = {n.rsplit(".", 1)[-1] for n, entry in model.names.items() if entry[0] != "type" or entry[1]}
        names = {n for n in names if len(n) >= 3} - searched
        searched |= names
        tokens = tuple(sorted(n.encode() for n in names))
        if not tokens:
            break
    if fresh:
        _save(cache_dir, {**cached, **known})
    return model


def attach_sessions(
    files: Sequence[Tuple[str, Config]], jobs: Optional[int] = None,
    cache_dir: Optional[Callable[[Config], Optional[str]]] = None,
    contents: Optional[Dict[str, Optional[bytes]]] = None,
) -> List[Tuple[str, Config]]:
    """The same files, each configuration carrying its project's session model (one model
    per configuration root, from all the files under that root in `files`)."""
    roots: Dict[str, List[Tuple[str, Config]]] = {}
    for path, config in files:
        roots.setdefault(os.path.abspath(config.root), []).append((path, config))
    models = {}
    for root, group in roots.items():
        where = cache_dir(group[0][1]) if cache_dir is not None else None
        models[root] = sessions_of_files(group, jobs, where, contents)
    replaced: Dict[int, Config] = {}
    out = []
    for path, config in files:
        if id(config) not in replaced:
            model = models[os.path.abspath(config.root)]
            replaced[id(config)] = dataclasses.replace(config, project_sessions=model)
        out.append((path, replaced[id(config)]))
    return out
