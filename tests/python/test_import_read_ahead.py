"""`read_ahead`: the importer's read-back fetches the next page in a thread while the caller handles this one."""

import threading
import time

import pytest

from loader.importer import read_ahead


def test_every_item_arrives_in_order_also_a_short_last_chunk_and_none():
    assert list(read_ahead(iter(range(25)), 10)) == list(range(25))
    assert list(read_ahead(iter(()), 10)) == []


def test_the_next_chunk_is_read_while_the_caller_still_handles_the_first():
    asked_second = threading.Event()

    def pages():
        yield from range(3)
        asked_second.set()  # the producer went on to the next page
        yield from range(3, 6)

    items = read_ahead(pages(), 3)
    assert next(items) == 0
    assert asked_second.wait(5)
    assert list(items) == [1, 2, 3, 4, 5]


def test_an_error_of_the_reader_reaches_the_caller_after_the_items_before_it():
    def pages():
        yield from range(4)
        raise ConnectionError("dropped")

    got = []
    with pytest.raises(ConnectionError, match="dropped"):
        for item in read_ahead(pages(), 2):
            got.append(item)
    assert got == [0, 1, 2, 3]


def test_closing_early_stops_the_reader_thread():
    def endless():
        n = 0
        while True:
            yield n
            n += 1

    items = read_ahead(endless(), 5)
    assert next(items) == 0
    items.close()
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())


def test_closing_while_the_reader_is_inside_a_slow_request_returns_within_about_a_second():
    release = threading.Event()

    def pages():
        yield 0
        release.wait(10)  # a request that hangs
        yield 1

    items = read_ahead(pages(), 1)
    assert next(items) == 0
    started = time.monotonic()
    items.close()
    assert time.monotonic() - started < 3
    release.set()
