"""Several callers at the same moment, for the concurrency tests (transactional tests only)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_at_once(
    work: Callable[[T], None], arguments: Sequence[T], *, timeout: float = 60
) -> list[BaseException]:
    """Run `work(argument)` for each argument in a thread of its own, all released together.

    Each thread closes its own database connection. Returns what the threads raised, so that a
    failure in one fails the test rather than vanishing with the thread.
    """
    barrier = threading.Barrier(len(arguments))
    errors: list[BaseException] = []

    def run(argument: T) -> None:
        try:
            barrier.wait(timeout=10)
            work(argument)
        except BaseException as exc:  # handed to the test, which decides
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
