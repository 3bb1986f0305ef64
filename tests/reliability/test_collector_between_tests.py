"""The suite's garbage collection between tests (tests/support/collector.py): a collection inside a
test walks only what that test made, and nothing is kept for good."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from tests.support.collector import BetweenTests, Pauses


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


@pytest.fixture
def collector() -> Iterator[BetweenTests]:
    """A policy of its own. The worker's pause count leaves out this test's whole-heap sweeps, and
    its heap is frozen again afterwards."""
    workers = [cb for cb in gc.callbacks if isinstance(cb, Pauses)]
    for cb in workers:
        gc.callbacks.remove(cb)
    policy = BetweenTests(sweep_every=3)
    policy.start()
    try:
        yield policy
    finally:
        policy.stop()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        gc.callbacks.extend(workers)


def test_garbage_of_a_test_is_collected_after_it_and_survivors_are_frozen(collector: BetweenTests) -> None:
    dropped = Node()
    gone = weakref.ref(dropped)
    del dropped
    kept = Node()
    frozen_before = gc.get_freeze_count()
    collector.after_test()
    assert gone() is None, "the cycle dropped during the test is collected after it"
    assert gc.get_freeze_count() > frozen_before, "what survives is frozen"
    assert kept.me is kept
    assert not any(o is kept for o in gc.get_objects()), "a frozen object is not walked again"


def test_a_frozen_cycle_that_dies_later_is_freed_by_the_next_sweep(collector: BetweenTests) -> None:
    late = Node()
    gone = weakref.ref(late)
    collector.after_test()  # 1: `late` is alive, so frozen
    del late
    collector.after_test()  # 2: frozen objects are not collected
    assert gone() is not None
    collector.after_test()  # 3: the sweep
    assert gone() is None


def test_our_own_collections_are_not_counted_as_pauses_inside_tests(collector: BetweenTests) -> None:
    collector.after_test()
    assert collector.pauses.count == 0 and collector.pauses.between > 0
    gc.collect()  # as the interpreter would, during a test
    assert collector.pauses.count == 1 and collector.pauses.longest > 0


def test_a_process_that_runs_no_test_never_collects() -> None:
    """xdist's controller hears of every test's end but collects none: it does not start."""
    idle = BetweenTests()
    frozen = gc.get_freeze_count()
    idle.after_test()
    assert idle.finished == 0 and idle.pauses.between == 0 and gc.get_freeze_count() == frozen
