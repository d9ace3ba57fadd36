"""Store calls on the request path, bounded: a request never waits longer than
``MLWB_STORE_TIMEOUT_SECONDS`` on the data store.

A call that outlives the bound answers 503 and keeps its worker thread until the store
answers; while one such call is still stuck, the next requests get 503 at once instead of
parking more threads on a store that hangs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from mlworkbench.web.errors import NotReadyError

T = TypeVar("T")


class StoreGuard:
    """Counts store calls that outlived their bound and have not returned yet."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.stuck = 0

    def _unstuck(self, task: asyncio.Future) -> None:
        self.stuck -= 1
        if not task.cancelled():
            task.exception()  # retrieved: its request has long been answered

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        if self.stuck:
            raise NotReadyError("the data store is not answering (an earlier call still "
                                "waits); try again shortly or use source=live", "source")
        task = asyncio.ensure_future(run_in_threadpool(function, *args))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except TimeoutError:
            self.stuck += 1
            task.add_done_callback(self._unstuck)
            raise NotReadyError(f"the data store did not answer within {self.timeout:g} s "
                                "(MLWB_STORE_TIMEOUT_SECONDS); try again or use source=live",
                                "source") from None
