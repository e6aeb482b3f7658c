"""A small fixed-window rate limit on Django's cache: enough for forms open to the public.

With the local-memory cache the count is per process; with Redis (KEFU_REDIS_URL) it is shared by
every worker, which is what a public deployment should use.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def rate_limited(scope: str, client: str | None, *, limit: int, window: int = 60) -> bool:
    """Count one attempt; True once `client` has made more than `limit` in the current window."""
    if limit <= 0:
        return False
    bucket = int(time.time() // window)
    # Hash the address: cache keys must be plain, and the cache need not hold addresses.
    who = hashlib.sha256((client or "unknown").encode()).hexdigest()[:32]
    key = f"kefu:ratelimit:{scope}:{who}:{bucket}"
    if cache.add(key, 1, timeout=window + 5):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window + 5)
        return False
    return count > limit
