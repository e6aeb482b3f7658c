"""Django's SQLite backend, with write transactions handed over without sleeping.

SQLite lets one writer in at a time. A connection that finds the write lock taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10 … up to 100 ms between tries, so the lock often
lies free while everyone sleeps: eight connections creating tickets through three app-server
processes spent most of their time asleep (39 tickets/s at 180 ms each, with the CPUs half idle).

Here every transaction (Kefu's are BEGIN IMMEDIATE, i.e. writers) first takes an exclusive lock on
a file next to the database, trying again every fraction of a millisecond, and holds it until
commit or rollback: the next writer goes in as soon as the last one is done. The lock is per
connection (each opens the lock file itself), so it works across threads and processes alike;
the kernel drops it if a process dies. A writer that waits longer than the busy timeout gets
SQLite's own "database is locked" error, as before.

Within one process the writers first queue on a thread lock per database file, which wakes the
next one the moment it is released and costs nothing while it waits; only the head of each
process's queue polls the file lock. (Twelve app-server threads all polling every 2 ms burnt
CPU on wake-ups that found the lock still taken.)

A write statement outside a transaction (autocommit: the operation log's row after each request,
a counter bumped on its own) is a write transaction too: it queues the same way for the length of
the statement, instead of meeting a taken lock in SQLite's sleeping busy handler.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

from kefu.core import oplog

BUSY_TIMEOUT_SECONDS = 10.0

# One thread lock per database file, shared by every connection of this process to it.
_process_queues: dict[str, threading.Lock] = {}
_process_queues_guard = threading.Lock()


def _process_queue(path: str) -> threading.Lock:
    with _process_queues_guard:
        return _process_queues.setdefault(path, threading.Lock())


def _forget_process_queues() -> None:
    """In a forked child: the parent's threads and whatever they held are not here."""
    global _process_queues_guard
    _process_queues_guard = threading.Lock()
    _process_queues.clear()


os.register_at_fork(after_in_child=_forget_process_queues)


WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLAC")


class QueuedWritesCursor(base.SQLiteCursorWrapper):
    """Django's cursor, with a write statement outside a transaction queued like a transaction."""

    database: DatabaseWrapper

    def execute(self, query: str, params: Any = None) -> Any:
        if self.connection.in_transaction or not _writes(query):
            return super().execute(query, params)
        with self.database.write_lock_for_statement():
            return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        if self.connection.in_transaction or not _writes(query):
            return super().executemany(query, param_list)
        with self.database.write_lock_for_statement():
            return super().executemany(query, param_list)


def _writes(query: str) -> bool:
    return query.lstrip()[:6].upper() in WRITE_STATEMENTS


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock_fd: int | None = None
        self._write_lock_held = False
        self._write_lock_queue: threading.Lock | None = None

    def _write_lock_path(self) -> str | None:
        if self.is_in_memory_db():
            return None
        return f"{self.settings_dict['NAME']}.writelock"

    def _write_lock_acquire(self) -> None:
        path = self._write_lock_path()
        if path is None or self._write_lock_held:
            return
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        queue = _process_queue(path)
        if not queue.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise OperationalError("database is locked")
        try:
            if self._write_lock_fd is None:
                self._write_lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._file_lock_wait(self._write_lock_fd, deadline)
        except BaseException:
            queue.release()
            raise
        self._write_lock_queue = queue
        self._write_lock_held = True

    @staticmethod
    def _file_lock_wait(fd: int, deadline: float) -> None:
        """Take the file lock, which a writer of another process may hold, polling until the deadline."""
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def _write_lock_release(self) -> None:
        if not self._write_lock_held:
            return
        self._write_lock_held = False
        if self._write_lock_fd is not None:
            fcntl.flock(self._write_lock_fd, fcntl.LOCK_UN)
        if self._write_lock_queue is not None:
            self._write_lock_queue.release()
            self._write_lock_queue = None

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=QueuedWritesCursor)
        cursor.database = self
        return cursor

    @contextlib.contextmanager
    def write_lock_for_statement(self) -> Iterator[None]:
        if self._write_lock_held:
            yield
            return
        self._write_lock_acquire()
        try:
            yield
        finally:
            self._write_lock_release()

    def _start_transaction_under_autocommit(self) -> None:
        self._write_lock_acquire()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._write_lock_release()
            raise

    def _commit(self) -> Any:
        # A declared operation-log row goes into this transaction (kefu.core.oplog); should it
        # fail, the caller rolls the transaction back, and that releases the lock.
        written = oplog.write_before_commit(self)
        try:
            result = super()._commit()
        finally:
            self._write_lock_release()
        oplog.committed(written)
        return result

    def _rollback(self) -> Any:
        try:
            return super()._rollback()
        finally:
            self._write_lock_release()

    def _close(self) -> Any:
        try:
            return super()._close()
        finally:
            self._write_lock_release()
            if self._write_lock_fd is not None:
                os.close(self._write_lock_fd)
                self._write_lock_fd = None
