"""Reading source files (encoding, BOM, binary) and writing them atomically (a temporary file
in the same directory, then a rename over the target)."""
from __future__ import annotations

import io
import os
import signal
import stat
import tempfile
import tokenize
from typing import Optional, Tuple

__all__ = ["write_atomic", "decode_source", "DecodeFailure", "compile_quietly"]


def write_atomic(path: str, data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data` so that readers see the old or the new content, never a part.

    The file's permission bits are kept when it exists. With `durable` the data reaches
    the disk before the rename (source files); a cache entry skips that: after a crash it
    is either whole or a miss. Raises OSError.
    """
    if durable:
        path = os.path.realpath(path)  # a symbolic link stays a link; its target gets the content
        try:
            mode: Optional[int] = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    else:  # a cache entry: a private temporary name, no permission bits to keep, no fsync
        mode = None
    temporary: Optional[str] = None
    try:
        if durable:
            # an interrupt between creating the temporary file and knowing its name would
            # leave it behind: SIGINT/SIGTERM wait until the name is known (inside `try`)
            with _signals_held():
                handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".dao-lint-", suffix=".tmp")
            stream = os.fdopen(handle, "wb")
        else:
            temporary = f"{path}.{os.getpid()}.tmp"
            stream = open(temporary, "wb")
        with stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        raise


class _signals_held:
    """Delays SIGINT and SIGTERM for the duration of a `with` block (where the OS allows)."""

    def __enter__(self) -> None:
        self.previous = None
        if hasattr(signal, "pthread_sigmask"):
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)


class DecodeFailure(Exception):
    """The bytes are not Python source text: binary, or invalid in their declared encoding."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def decode_source(source: bytes) -> Tuple[str, str]:
    """Return (text, encoding) honouring a BOM and a coding cookie; raise DecodeFailure."""
    nul = source.find(b"\x00")
    if nul != -1:
        line = source.count(b"\n", 0, nul) + 1
        raise DecodeFailure("binary file (contains NUL bytes); not checked", line, 0)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as exc:
        raise DecodeFailure(f"cannot decode: {exc.msg if hasattr(exc, 'msg') else exc}", 1, 0) from None
    try:
        text = source.decode(encoding)
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        column = exc.start - (source.rfind(b"\n", 0, exc.start) + 1)
        raise DecodeFailure(
            f"not valid {encoding} at byte {exc.start} ({exc.reason}); not checked", line, column
        ) from None
    except LookupError:
        raise DecodeFailure(f"unknown encoding {encoding!r}; not checked", 1, 0) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, encoding


def compile_quietly(text: str, path: str = "<unknown>", tree_only: bool = False):  # noqa: ANN201
    """`compile` (or `ast.parse` with `tree_only`) without printing SyntaxWarnings: they are
    about the user's code, which dao-lint reads, not runs. Raises what compile raises."""
    import ast
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # invalid escape sequences before 3.12
        return compile(text, path, "exec", flags=ast.PyCF_ONLY_AST if tree_only else 0, dont_inherit=True)
