"""Big libraries load with the garbage collector paused only in a process that ends with its command."""

from __future__ import annotations

import gc

import pytest

from pipelines import gc_pause


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
