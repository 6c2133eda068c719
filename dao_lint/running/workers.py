"""Spreading files over processes, in a stable order, and stopping cleanly when interrupted."""
from __future__ import annotations

import os
import signal
from typing import Callable, List, Optional, Sequence

__all__ = ["map_in_processes"]

# the interrupts held back while workers are forked (not on Windows: no fork, no sigmask)
_BLOCKED = {signal.SIGINT, signal.SIGTERM} if hasattr(signal, "pthread_sigmask") else None


def _quiet_worker() -> None:
    """In a worker: the main process owns interrupts. Ctrl-C (sent to the whole process
    group) is ignored here, and SIGTERM, which the main process sends to stop a worker, ends
    it at once instead of running the main process's handler, inherited through fork."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _BLOCKED:  # held back while the main process forked (see map_in_processes)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _BLOCKED)
    _end_with_parent()


def _end_with_parent(every: float = 0.5) -> None:
    """End this worker soon after the main process is gone (killed with SIGKILL, by the OOM
    killer, by a hook's time limit). Without this a worker waits for work forever: its
    siblings hold the task queue open, so it never sees the queue close."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="dao-lint-parent-watch", daemon=True).start()


def _in_daemon() -> bool:
    """Whether this is a daemonic process (a flake8 worker, a multiprocessing pool's), which
    may not start processes of its own: the work is then done here, one item after another."""
    import multiprocessing

    return multiprocessing.current_process().daemon


def _block_interrupts() -> Optional[set]:
    """Hold back SIGINT and SIGTERM (they stay pending); returns the mask to restore. While
    a worker is being forked, an interrupt would otherwise run the main process's handler in
    a fork hook (where the exception is swallowed and the run goes on) or in the new worker
    before its own handlers are set (a traceback from the worker)."""
    if not _BLOCKED:
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)


def _restore_interrupts(mask: Optional[set]) -> None:
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def map_in_processes(
    function: Callable,
    items: Sequence,
    jobs: Optional[int],
    progress: Optional[Callable[[int], None]] = None,
    weights: Optional[Sequence[float]] = None,
) -> List:
    """`[function(item) for item in items]`, over `jobs` processes when there is enough work;
    results in the order of `items` whatever the scheduling. With `weights` (a guess at each
    item's cost), the heaviest items go first, so that no process is left with a big one
    while the others have finished.

    On an interrupt (Ctrl-C, SIGTERM turned into KeyboardInterrupt) the workers are stopped
    at once instead of finishing their queue, and the caller is expected to exit soon (the
    command line leaves without running exit handlers).
    """
    jobs = jobs or os.cpu_count() or 1
    results: List = []
    if jobs <= 1 or len(items) < 16 or _in_daemon():
        for item in items:
            results.append(function(item))
            if progress:
                progress(1)
        return results
    from concurrent.futures import ProcessPoolExecutor  # (multiprocessing: a warm run needs none of it)

    order = list(range(len(items)))
    if weights is not None:
        order.sort(key=lambda number: -weights[number])
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_quiet_worker)
    mask = _block_interrupts()
    try:
        try:
            # the workers are forked here, all at once, before the first result
            done = pool.map(function, [items[number] for number in order], chunksize=max(1, len(items) // (jobs * 16)))
        finally:
            _restore_interrupts(mask)  # an interrupt held back is handled now, in this try
        results = [None] * len(items)
        for number, result in zip(order, done):
            results[number] = result
            if progress:
                progress(1)
    except BaseException:
        # stop the workers; the executor then finds them gone and marks the rest broken. No
        # shutdown() here: the interrupt may have landed while the executor held its own
        # lock (a deadlock), and cancelling races with its cleanup on Python 3.9
        _quiet_thread(getattr(pool, "_executor_manager_thread", None))
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        raise
    pool.shutdown(wait=True)
    return results


def _quiet_thread(thread: object) -> None:
    """Let `thread` (the executor's manager) end without printing a traceback: it trips over
    the workers stopped on an interrupt ("Exception in thread ..." after "dao-lint:
    interrupted"). Other threads' errors are reported as before."""
    if thread is None:
        return
    import threading

    previous = threading.excepthook

    def hook(args: object) -> None:
        if getattr(args, "thread", None) is not thread:
            previous(args)

    threading.excepthook = hook
