"""Time-boxed worker lanes for calls into xtquant.

xtquant's synchronous calls can block for ever: newer builds wait on `future.result()` with no
timeout (`common_op_sync_with_seq`), older ones wait without a limit on every query. A Python
thread cannot be killed, so a hung call keeps its worker until xtquant answers. Three rules keep
hung calls from taking every worker:

- one lane per kind of work (orders, queries, quotes), so hung queries never delay a sell;
- identical reads share one call (single flight): a hung `query_stock_orders` holds one worker
  however many requests ask for it, and each of them still gets its own deadline;
- a lane whose workers are all held by calls older than `stuck_after` refuses at once instead of
  queueing requests behind them.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Hashable, Optional


class LaneFull(Exception):
    """Every worker of the lane is held by a call that has not returned for a long time."""


class Lane:
    def __init__(self, name: str, workers: int, stuck_after: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.workers = workers
        self.stuck_after = stuck_after
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"xt-{name}")
        self._lock = threading.Lock()
        self._started: dict[int, tuple[float, str]] = {}  # running call -> (start, label)
        self._shared: dict[Hashable, "Future[Any]"] = {}
        self._ids = 0
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any, key: Optional[Hashable] = None,
               label: str = "") -> "Future[Any]":
        with self._lock:
            if self._closed:
                raise LaneFull(f"the {self.name} lane is shut down")
            if key is not None and key in self._shared:
                return self._shared[key]
            if len(self.hung()) >= self.workers:
                raise LaneFull(f"all {self.workers} {self.name} workers wait on xtquant calls that never returned")
            self._ids += 1
            call_id = self._ids
            future = self._pool.submit(self._run, call_id, fn, args, key, label or getattr(fn, "__name__", "call"))
            if key is not None:
                self._shared[key] = future
            return future

    def hung(self) -> list[str]:
        """Labels of calls running longer than stuck_after (call with or without the lock)."""
        now = self._clock()
        return [label for start, label in list(self._started.values()) if now - start >= self.stuck_after]

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, call_id: int, fn: Callable[..., Any], args: tuple[Any, ...], key: Optional[Hashable],
             label: str) -> Any:
        with self._lock:
            self._started[call_id] = (self._clock(), label)
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._started.pop(call_id, None)
                if key is not None:
                    self._shared.pop(key, None)
