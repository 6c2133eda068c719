"""Find, read and validate `[tool.dao-lint]`; resolve which codes apply to a file."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Tuple

from .codes import DEFAULT_ENABLED
from .globs import GlobError, compile_glob, name_matches, path_matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

__all__ = [
    "Config",
    "ConfigError",
    "ConfigOverrides",
    "DEFAULT_ACTION_VERBS",
    "find_config_file",
    "load_config",
    "ConfigResolver",
]

DEFAULT_EXCLUDE: Tuple[str, ...] = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", "build", "dist",
    "node_modules", "__pycache__", ".eggs", "*.egg-info", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".dao_lint_cache", "site-packages",
)

DEFAULT_ACTION_VERBS: Tuple[Tuple[str, str], ...] = (
    ("save", "create/update"),
    ("saveas", "create"),
    ("save_as", "create"),
    ("override", "update"),
    ("overwrite", "update"),
    ("persist", "create"),
    ("store", "create"),
    ("put", "upsert"),
    ("insert", "create"),
    ("remove", "delete"),
    ("destroy", "delete"),
    ("erase", "delete"),
    ("modify", "update"),
    ("edit", "update"),
)


class ConfigError(Exception):
    """A configuration problem; the message is one line naming file and key."""


@dataclass(frozen=True)
class Config:
    """The effective configuration for the files under `root`."""

    root: str = "."
    source: Optional[str] = None
    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    dao_modules: Tuple[str, ...] = (
        "**/dao.py", "**/daos/**", "**/*_dao.py", "**/dao/**", "**/repositories/**",
    )
    dao_classes: Tuple[str, ...] = ("*DAO", "*Dao")
    dao_base_classes: Tuple[str, ...] = ("BaseDAO",)
    session_names: Tuple[str, ...] = (
        "db.session", "*.db.session", "session", "db_session", "_session", "self.session", "self._session",
    )
    test_paths: Tuple[str, ...] = ("**/tests/**", "**/test_*.py", "**/*_test.py", "**/conftest.py")
    migration_modules: Tuple[str, ...] = ("**/migrations/**", "**/alembic/**")
    #: modules whose every function is a unit of work (API routes, CLI commands, jobs)
    boundary_modules: Tuple[str, ...] = ()
    boundaries: Tuple[str, ...] = ("**/commands/**::*.run",)
    transaction_decorator: Optional[str] = None
    action_verbs: Tuple[Tuple[str, str], ...] = DEFAULT_ACTION_VERBS
    #: `[tool.dao-lint.rename]`: "ChartDAO.save" = "create" renames a DAO method (DAO301 fix)
    rename: Tuple[Tuple[str, str], ...] = ()
    #: the baseline file `check` applies (relative to the root), if any
    baseline: Optional[str] = None
    #: the preset the configuration started from (dao_lint.presets), if any
    preset: Optional[str] = None
    #: files larger than this (KiB) are not parsed (DAO002): libcst needs ~600 MB for 1 MB
    max_file_size: int = 1024
    #: not a key of the file: the project's session model (dao_lint.sessions.ProjectSessions),
    #: attached for a run over the project, so that every file's analysis and cache key see it
    project_sessions: Optional[object] = None

    @property
    def boundary_entries(self) -> Tuple[str, ...]:
        """`boundaries`, and every function of the `boundary-modules` as `module::*`."""
        return self.boundaries + tuple(f"{glob}::*" for glob in self.boundary_modules)

    def is_boundary(self, relpath: str, qualname: str) -> bool:
        """The function `qualname` of the module at `relpath` is a declared unit of work
        (`boundaries`, `boundary-modules`)."""
        for entry in self.boundary_entries:
            module_glob, _, name_glob = entry.partition("::")
            if path_matches([module_glob], relpath) and name_matches([name_glob], qualname):
                return True
        return False

    def defines_transaction_decorator(self, module: str, qualname: str) -> bool:
        """The function `qualname` of `module` is the configured transaction decorator's
        definition, or nested in it (its inner `wrapped`): the unit of work itself, never a
        boundary to decorate nor code to rewrite, whatever else the configuration says."""
        if not self.transaction_decorator:
            return False
        decorator = self.transaction_decorator.rstrip("()")
        defined = f"{module}.{qualname.split('.')[0]}" if module else qualname.split(".")[0]
        return defined == decorator or defined.endswith("." + decorator) or decorator.endswith("." + defined)

    def relpath(self, path: str) -> str:
        """`path` relative to the configuration root, POSIX style (absolute if outside)."""
        absolute = os.path.abspath(path)
        try:
            rel = os.path.relpath(absolute, os.path.abspath(self.root))
        except ValueError:  # another drive on Windows
            return Path(absolute).as_posix()
        if rel.startswith(".."):
            return Path(absolute).as_posix().lstrip("/")
        return Path(rel).as_posix()

    def enabled_codes(self, path: Optional[str] = None) -> frozenset:
        """The codes reported for `path` (all files when None)."""
        codes = tuple(DEFAULT_ENABLED)
        if self.select is None:
            base = {c for c, on in DEFAULT_ENABLED.items() if on}
        else:
            base = {c for c in codes if _selected(c, self.select)}
        base |= {c for c in codes if _selected(c, self.extend_select)}
        base -= {c for c in codes if _selected(c, self.ignore)}
        if path is not None and self.per_file_ignores:
            rel = self.relpath(path)
            for pattern, ignored in self.per_file_ignores:
                if path_matches([pattern], rel):
                    base -= {c for c in codes if _selected(c, ignored)}
        return frozenset(base)

    def is_dao_module(self, relpath: str) -> bool:
        """A module of the DAO layer: `dao-modules`, unless it is a migration or a test
        (a migration or a test under a DAO directory is a script or a test, not a DAO)."""
        return (
            path_matches(self.dao_modules, relpath)
            and not path_matches(self.migration_modules, relpath)
            and not path_matches(self.test_paths, relpath)
        )

    def is_excluded(self, path: str) -> bool:
        return self.is_excluded_relpath(self.relpath(path))

    def is_excluded_relpath(self, relpath: str) -> bool:
        """`is_excluded` for a path already made relative to the root (see `relpath`)."""
        return path_matches(self.exclude + self.extend_exclude, relpath)


def _selected(code: str, selectors: Iterable[str]) -> bool:
    return any(s == "ALL" or code.startswith(s) for s in selectors)


@dataclass(frozen=True)
class ConfigOverrides:
    """Command-line settings that override the file: `select` replaces, the others extend."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()

    def apply(self, config: Config) -> Config:
        if self.select is not None:
            config = replace(config, select=self.select)
        return replace(
            config,
            extend_select=config.extend_select + self.extend_select,
            ignore=config.ignore + self.ignore,
        )


# key -> (field name, kind); kinds: codes, globs, names, str, verbs, per-file, boundaries
_KEYS: Mapping[str, Tuple[str, str]] = {
    "select": ("select", "codes"),
    "extend-select": ("extend_select", "codes"),
    "ignore": ("ignore", "codes"),
    "per-file-ignores": ("per_file_ignores", "per-file"),
    "exclude": ("exclude", "globs"),
    "extend-exclude": ("extend_exclude", "globs"),
    "dao-modules": ("dao_modules", "globs"),
    "dao-classes": ("dao_classes", "names"),
    "dao-base-classes": ("dao_base_classes", "names"),
    "session-names": ("session_names", "names"),
    "test-paths": ("test_paths", "globs"),
    "migration-modules": ("migration_modules", "globs"),
    "boundary-modules": ("boundary_modules", "globs"),
    "boundaries": ("boundaries", "boundaries"),
    "transaction-decorator": ("transaction_decorator", "str"),
    "action-verbs": ("action_verbs", "verbs"),
    "rename": ("rename", "rename"),
    "baseline": ("baseline", "path"),
    "max-file-size": ("max_file_size", "kib"),
}


def validate_codes(values: object, where: str) -> Tuple[str, ...]:
    """Check a list of codes or prefixes (`DAO1`, `ALL`); raise ConfigError naming `where`."""
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: expected a list of codes such as [\"DAO101\", \"DAO2\"]")
    known = tuple(DEFAULT_ENABLED)
    out = []
    for value in values:
        code = value.strip().upper()
        if code != "ALL" and not any(k.startswith(code) for k in known) or not code:
            raise ConfigError(f"{where}: unknown code {value!r} (see `dao-lint rules`)")
        out.append(code)
    return tuple(out)


def _string_list(value: object, where: str, what: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of {what}")
    return tuple(value)


def _globs(value: object, where: str) -> Tuple[str, ...]:
    globs = _string_list(value, where, "glob strings")
    for pattern in globs:
        try:
            compile_glob(pattern)
        except GlobError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return globs


def _convert(kind: str, value: object, where: str) -> object:
    if kind == "codes":
        return validate_codes(value, where)
    if kind == "globs":
        return _globs(value, where)
    if kind == "names":
        return _string_list(value, where, "names")
    if kind == "str":
        if value == "":
            return None  # "none": clears what a preset set
        if not isinstance(value, str) or not value.strip() or " " in value.strip():
            raise ConfigError(f"{where}: expected a dotted name such as \"app.utils.transaction\"")
        return value.strip()
    if kind == "kib":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where}: expected a size in KiB such as 1024")
        return value
    if kind == "path":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: expected a file path such as \".dao-lint-baseline.json\"")
        return value.strip()
    if kind == "verbs":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
        ):
            raise ConfigError(f"{where}: expected a table of verb = \"crud word\"")
        return tuple(sorted((k.lower(), v) for k, v in value.items()))
    if kind == "rename":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table of \"Class.method\" = \"new_name\"")
        out = []
        for old, new in value.items():
            parts = old.split(".") if isinstance(old, str) else []
            if len(parts) != 2 or not all(p.isidentifier() for p in parts):
                raise ConfigError(f"{where}: {old!r} is not \"Class.method\"")
            if not isinstance(new, str) or not new.isidentifier():
                raise ConfigError(f"{where}: {old!r} = {new!r}: the new name must be an identifier")
            out.append((old, new))
        return tuple(sorted(out))
    if kind == "per-file":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table of glob = [codes]")
        out = []
        for pattern, codes in value.items():
            try:
                compile_glob(pattern)
            except GlobError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            out.append((pattern, validate_codes(codes, f"{where}.{pattern!r}")))
        return tuple(out)
    if kind == "boundaries":
        entries = _string_list(value, where, "\"module-glob::Qualified.name-glob\" strings")
        for entry in entries:
            module, sep, qualname = entry.partition("::")
            if not sep or not module or not qualname:
                raise ConfigError(f"{where}: {entry!r} is not \"module-glob::Qualified.name-glob\"")
            try:
                compile_glob(module)
            except GlobError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        return entries
    raise AssertionError(kind)


def parse_table(table: Mapping[str, object], source: str, root: str) -> Config:
    """Build a Config from the `[tool.dao-lint]` table; raise ConfigError on any problem."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.dao-lint] must be a table")
    values: Dict[str, object] = {"root": root, "source": source}
    if "preset" in table:
        from .presets import PRESETS

        preset = table["preset"]
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ConfigError(
                f"{source}: [tool.dao-lint] preset: unknown preset {preset!r} (expected one of {', '.join(sorted(PRESETS))})"
            )
        values["preset"] = preset
        table = {**PRESETS[preset], **{k: v for k, v in table.items() if k != "preset"}}  # the user's keys win
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(f"{source}: unknown key {key!r} in [tool.dao-lint]")
        name, kind = _KEYS[key]
        values[name] = _convert(kind, value, f"{source}: [tool.dao-lint] {key}")
    return Config(**values)


def read_toml(path: str) -> Mapping[str, object]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_config(path: str) -> Config:
    """Read a config file: a pyproject.toml (`[tool.dao-lint]`) or a dao-lint.toml (top level)."""
    data = read_toml(path)
    root = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("dao-lint", {}) if isinstance(data.get("tool"), dict) else {}
    else:
        table = data
    return parse_table(table, path, root)


def find_config_file(start: str) -> Optional[str]:
    """The nearest pyproject.toml with a `[tool.dao-lint]` table, from `start` upward."""
    directory = Path(os.path.abspath(start))
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            data = read_toml(str(pyproject))
            tool = data.get("tool")
            if isinstance(tool, dict) and "dao-lint" in tool:
                return str(pyproject)
    return None


class ConfigResolver:
    """Finds the configuration for each file, once per directory.

    With an explicit `--config` file every path uses it; otherwise the nearest
    pyproject.toml with `[tool.dao-lint]` applies, and defaults (rooted at the
    current directory) when there is none.
    """

    def __init__(self, explicit: Optional[str] = None, overrides: ConfigOverrides = ConfigOverrides()):
        self.overrides = overrides
        self.explicit = overrides.apply(load_config(explicit)) if explicit else None
        self._by_dir: Dict[str, Config] = {}
        self._by_file: Dict[Optional[str], Config] = {}
        self._found: Dict[str, Optional[str]] = {}

    def _nearest(self, directory: str) -> Optional[str]:
        """`find_config_file`, remembering the answer for every directory on the way up."""
        if directory not in self._found:
            pyproject = os.path.join(directory, "pyproject.toml")
            parent = os.path.dirname(directory)
            if os.path.isfile(pyproject) and "dao-lint" in (read_toml(pyproject).get("tool") or {}):
                self._found[directory] = pyproject
            else:
                self._found[directory] = None if parent == directory else self._nearest(parent)
        return self._found[directory]

    def for_path(self, path: str) -> Config:
        if self.explicit is not None:
            return self.explicit
        directory = os.path.dirname(os.path.abspath(path)) if not os.path.isdir(path) else os.path.abspath(path)
        if directory not in self._by_dir:
            source = self._nearest(directory)
            if source not in self._by_file:
                base = load_config(source) if source else Config(root=os.getcwd())
                self._by_file[source] = self.overrides.apply(base)
            self._by_dir[directory] = self._by_file[source]
        return self._by_dir[directory]
