"""The garbage collector in a process that runs stages: it collects less often wherever the definitions
are built, and big libraries load with it paused only in a process that ends with its command."""

from __future__ import annotations

import gc

import pytest

from pipelines import gc_pause


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_a_process_that_builds_the_definitions_collects_less_often(thresholds):
    from pipelines.defs.policy import build_defs

    gc.set_threshold(700, 10, 10)  # CPython's default: a run the daemon launches starts so
    build_defs()
    young, middle, old = gc.get_threshold()
    assert young >= 10_000  # the youngest generation waits for far more new objects
    assert (middle, old) == (10, 10)  # the older generations' ratios stay CPython's


def test_a_higher_threshold_set_elsewhere_is_kept(thresholds):
    gc.set_threshold(1_000_000, 5, 5)
    gc_pause.collect_less_often()
    assert gc.get_threshold() == (1_000_000, 5, 5)


@pytest.fixture
def frozen(monkeypatch) -> list[bool]:
    calls: list[bool] = []
    monkeypatch.setattr(gc_pause.gc, "freeze", lambda: calls.append(True))  # never freeze the test process
    return calls


def test_in_the_leadroute_process_the_collector_pauses_then_freezes_what_loaded(monkeypatch, frozen):
    monkeypatch.setattr(gc_pause, "_one_command", True)
    with gc_pause.loading():
        assert not gc.isenabled()
    assert gc.isenabled() and frozen == [True]


def test_the_collector_comes_back_when_loading_fails(monkeypatch, frozen):
    monkeypatch.setattr(gc_pause, "_one_command", True)
    with pytest.raises(ImportError), gc_pause.loading():
        raise ImportError("no such module")
    assert gc.isenabled()


def test_anywhere_else_nothing_changes(frozen):
    assert gc_pause._one_command is False  # a test process is not the entry point
    with gc_pause.loading():
        assert gc.isenabled()
    assert frozen == []
