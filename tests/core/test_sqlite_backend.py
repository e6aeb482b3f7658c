"""Kefu's SQLite backend queues write transactions on a file lock (kefu/core/sqlite/base.py).

These tests open their own throw-away database file, so they run whichever database the suite uses.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from kefu.core.sqlite import base as sqlite_base


def connection_to(path: Path) -> Any:
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "kefu.core.sqlite",
                "NAME": str(path),
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            }
        }
    )
    return handler["default"]


def begin(connection: Any) -> None:
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def commit(connection: Any) -> None:
    connection.commit()
    connection.set_autocommit(True)


@pytest.fixture(autouse=True)
def own_database_allowed(django_db_blocker: Any) -> Any:
    # Not the suite's database: pytest-django's guard is about that one.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "queue.sqlite3"
    setup = connection_to(path)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE entry (writer TEXT)")
    setup.close()
    return path


def test_second_writer_waits_for_the_first_to_commit_and_then_goes_in(database: Path) -> None:
    first, order = connection_to(database), []
    begin(first)
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO entry VALUES ('first')")

    def second_writer() -> None:
        second = connection_to(database)
        begin(second)
        order.append("second began")
        with second.cursor() as cursor:
            cursor.execute("INSERT INTO entry VALUES ('second')")
        commit(second)
        second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.2)
    assert order == []  # still queued behind the open transaction
    order.append("first commits")
    commit(first)
    thread.join(5)
    assert order == ["first commits", "second began"]
    with first.cursor() as cursor:
        cursor.execute("SELECT writer FROM entry ORDER BY rowid")
        assert [row[0] for row in cursor.fetchall()] == ["first", "second"]
    first.close()


def test_a_rolled_back_or_closed_transaction_frees_the_queue(database: Path) -> None:
    first, second = connection_to(database), connection_to(database)
    begin(first)
    first.rollback()
    first.set_autocommit(True)
    begin(second)
    commit(second)
    begin(second)
    second.close()  # a connection closed mid-transaction must not keep others out
    begin(first)
    commit(first)
    first.close()


def test_a_writer_that_waits_past_the_busy_timeout_gets_database_is_locked(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_base, "BUSY_TIMEOUT_SECONDS", 0.1)
    first, second = connection_to(database), connection_to(database)
    begin(first)
    with pytest.raises(OperationalError, match="database is locked"):
        begin(second)
    commit(first)
    begin(second)  # and it can write once the lock is free
    commit(second)
    first.close()
    second.close()


def test_a_writer_queued_in_the_same_process_waits_without_polling(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, order = connection_to(database), []
    begin(first)
    polls: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(
        sqlite_base.time, "sleep", lambda seconds: polls.append(seconds) or real_sleep(seconds)
    )

    def second_writer() -> None:
        second = connection_to(database)
        begin(second)
        order.append("second began")
        commit(second)
        second.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    real_sleep(0.2)
    assert order == []
    commit(first)
    thread.join(5)
    assert order == ["second began"]
    assert polls == []  # woken by the release, not by a timer
    first.close()


def test_a_writer_of_another_process_is_waited_for_on_the_file_lock(database: Path) -> None:
    # Another process's writer: its own open file description of the lock file, holding the lock.
    other = os.open(f"{database}.writelock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    order: list[str] = []

    def writer() -> None:
        connection = connection_to(database)
        begin(connection)
        order.append("began")
        commit(connection)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.2)
    assert order == []
    fcntl.flock(other, fcntl.LOCK_UN)
    os.close(other)
    thread.join(5)
    assert order == ["began"]


def test_a_write_outside_a_transaction_queues_instead_of_meeting_a_taken_lock(database: Path) -> None:
    first = connection_to(database)
    begin(first)
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO entry VALUES ('first')")
    outcome: list[str] = []

    def autocommit_writer() -> None:
        second = connection_to(database)
        with second.cursor() as cursor:
            # No busy handler at all: only the queue can keep this from failing at once.
            cursor.execute("PRAGMA busy_timeout = 0")
            try:
                cursor.execute("INSERT INTO entry VALUES ('second')")
                outcome.append("written")
            except OperationalError as error:
                outcome.append(str(error))
        second.close()

    thread = threading.Thread(target=autocommit_writer)
    thread.start()
    time.sleep(0.2)
    assert outcome == []
    commit(first)
    thread.join(5)
    assert outcome == ["written"]
    with first.cursor() as cursor:
        cursor.execute("SELECT writer FROM entry ORDER BY rowid")
        assert [row[0] for row in cursor.fetchall()] == ["first", "second"]
    first.close()
