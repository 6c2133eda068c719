"""Spreading work over processes: order kept, heavy items first."""
import os
import time

from dao_lint.running.workers import map_in_processes


def _started(item):
    return item, time.monotonic_ns(), os.getpid()


def test_results_come_back_in_the_order_of_the_items_whatever_the_weights():
    items = list(range(60))
    plain = map_in_processes(_started, items, jobs=2)
    weighted = map_in_processes(_started, items, jobs=2, weights=[(n * 37) % 11 for n in items])
    assert [item for item, _, _ in plain] == items
    assert [item for item, _, _ in weighted] == items
    assert len({pid for _, _, pid in weighted} - {os.getpid()}) >= 1  # (really in other processes)


def test_the_heaviest_items_start_first():
    items = list(range(64))
    weights = [n % 8 for n in items]  # the heaviest are scattered through the list
    results = map_in_processes(_started, items, jobs=2, weights=weights)
    heavy = [started for (item, started, _) in results if weights[item] == 7]
    light = [started for (item, started, _) in results if weights[item] == 0]
    # (on average: a process may be paused while the other one runs ahead)
    assert sum(heavy) / len(heavy) < sum(light) / len(light)


def test_one_process_or_few_items_run_here_in_order():
    assert [item for item, _, pid in map_in_processes(_started, [3, 1, 2], jobs=4, weights=[1, 9, 5])] == [3, 1, 2]
    assert {pid for _, _, pid in map_in_processes(_started, list(range(20)), jobs=1)} == {os.getpid()}


def _map_inside(_):
    return [item for item, _, _ in map_in_processes(_started, list(range(40)), jobs=2)]


def test_a_daemonic_process_does_the_work_itself():
    """A flake8 worker is a daemonic pool process, which may not start processes: the work
    is done there, in order, instead of failing ("daemonic processes are not allowed to
    have children")."""
    import multiprocessing

    with multiprocessing.Pool(1) as pool:
        assert pool.map(_map_inside, [0]) == [list(range(40))]


def test_the_stopped_executors_thread_ends_without_a_traceback_others_still_report():
    """After an interrupt the workers are stopped and the executor's manager thread trips over
    them: its traceback must not follow "dao-lint: interrupted". Any other thread's error
    still goes to the hook that was there before."""
    import threading

    from dao_lint.running.workers import _quiet_thread

    def fail():
        raise RuntimeError("boom")

    saved, reported = threading.excepthook, []
    threading.excepthook = lambda args: reported.append((args.thread.name, str(args.exc_value)))
    try:
        manager, other = threading.Thread(target=fail, name="manager"), threading.Thread(target=fail, name="other")
        _quiet_thread(manager)
        for thread in (manager, other):
            thread.start()
            thread.join()
    finally:
        threading.excepthook = saved
    assert reported == [("other", "boom")]
