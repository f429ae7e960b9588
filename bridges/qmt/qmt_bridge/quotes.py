"""The quote stream behind GET /v1/quotes/stream: xtdata full-push ticks, one hub per bridge.

- One `subscribe_whole_quote` covers the union of the symbols of every open stream
  (`subscribe_quote` is meant for 50 codes or fewer). It pushes only instruments that changed, and
  first the current data of all of them ("订阅后会首先返回当前最新的全推数据").
- A new stream's first frame is the current tick of each requested symbol: from the hub's cache,
  else from `get_full_tick` in chunks (whole lists time out at a few thousand codes).
- Each stream has a mailbox holding at most one event per symbol, the newest: a slow client
  skips intermediate ticks and never builds a backlog.
- A watchdog does what `xtdata.run()` does (checks the client every few seconds; the real run()
  raises '行情服务连接断开'), then reconnects with backoff and subscribes again. Open streams are
  ended on a disconnect so the client notices; new ones get 503 until the service is back.
- Every xtdata call runs on the "quotes" lane (lanes.py), time-boxed, apart from trading.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Iterable, Optional

from . import errors
from .lanes import Lane, LaneFull
from .ticks import default_lot, event_of, is_fund, limits_of, measured_lot
from .wire import trading_day

log = logging.getLogger("qmt_bridge.quotes")

DISCONNECTED = "行情服务连接断开"
DETAIL_RETRY_SECONDS = 30.0


class Mailbox:
    """Latest event per symbol, waiting to be written; bounded by the number of symbols."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[int, dict[str, Any]]] = {}
        self._taken: dict[str, int] = {}
        self.closed = False
        self.reason = ""
        self.high_water = 0
        self.replaced = 0

    def put(self, symbol: str, version: int, event: dict[str, Any]) -> None:
        with self._cond:
            if self.closed or version <= self._taken.get(symbol, 0):
                return
            waiting = self._pending.get(symbol)
            if waiting is not None:
                if version <= waiting[0]:
                    return
                self.replaced += 1  # the client has not taken the older one: it never will
            self._pending[symbol] = (version, event)
            self.high_water = max(self.high_water, len(self._pending))
            self._cond.notify()

    def take(self, timeout: float) -> Optional[list[dict[str, Any]]]:
        """Everything waiting, oldest symbol first; [] after timeout; None once closed."""
        with self._cond:
            if not self._pending and not self.closed:
                self._cond.wait(timeout)
            if self.closed:
                return None
            batch = list(self._pending.items())
            self._pending.clear()
            for symbol, (version, _) in batch:
                self._taken[symbol] = version
            return [event for _, (_, event) in batch]

    def close(self, reason: str) -> None:
        with self._cond:
            self.closed, self.reason = True, reason
            self._cond.notify_all()


class Stream:
    def __init__(self, symbols: list[str]) -> None:
        self.symbols = symbols
        self.wanted = frozenset(symbols)
        self.mailbox = Mailbox()
        self.primed = False  # its first frame is in the mailbox; from then on it gets changes


class QuoteHub:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        deadline: float = 5.0,
        probe_interval: float = 3.0,
        backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0),
        chunk: int = 100,
        stuck_after: float = 10.0,
    ) -> None:
        self._clock = clock
        self._deadline = deadline
        self._probe_interval = probe_interval
        self._backoff = backoff
        self._chunk = chunk
        self._lane = Lane("quotes", 4, stuck_after)
        self._lock = threading.RLock()
        self._streams: set[Stream] = set()
        self._wanted: dict[str, int] = {}
        self._subscribed: frozenset[str] = frozenset()
        self._subscription: Optional[int] = None
        self._client: Any = None
        self._version = 0
        self._latest: dict[str, tuple[int, dict[str, Any]]] = {}
        self._raw: dict[str, dict[str, Any]] = {}
        self._details: dict[str, tuple[str, Optional[dict[str, Any]]]] = {}
        self._detail_asked: dict[str, float] = {}
        self._lots: dict[str, int] = {}
        self._problems: dict[str, str] = {}
        self._ready = False
        self._stopping = threading.Event()
        self._xtdata: Any = None
        self._watchdog = threading.Thread(target=self._watch, name="xtdata-watchdog", daemon=True)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._watchdog.start()

    def stop(self) -> None:
        self._stopping.set()
        self._drop_streams("the bridge is stopping")
        self._lane.shutdown()

    @property
    def ready(self) -> bool:
        return self._ready

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"connected": self._ready, "streams": len(self._streams), "symbols": len(self._wanted)}

    def warnings(self) -> list[str]:
        hung = self._lane.hung()
        found = [f"xtdata calls not returning: {', '.join(sorted(set(hung)))}"] if hung else []
        with self._lock:
            return found + [self._problems[key] for key in sorted(self._problems)]

    # -- streams ---------------------------------------------------------------------------

    def open(self, symbols: list[str]) -> Stream:
        if not self._ready:
            raise errors.not_ready(f"the QMT quote service is disconnected ({DISCONNECTED}); retry later")
        stream = Stream(symbols)
        with self._lock:
            self._streams.add(stream)
            for symbol in stream.wanted:
                self._wanted[symbol] = self._wanted.get(symbol, 0) + 1
            grown = not stream.wanted <= self._subscribed
        try:
            if grown:
                self._subscribe()
            try:
                self._load_details(symbols)
            except errors.BridgeError as exc:
                # Quotes without limits beat no quotes: limit_up/limit_down stay null (SealGuard
                # then computes them) and the details are asked for again on later ticks.
                with self._lock:
                    self._problems["details"] = f"get_instrument_detail failed, limits left null: {exc.message}"
                log.warning("instrument details: %s", exc.message)
            else:
                with self._lock:
                    self._problems.pop("details", None)
            for symbol in symbols:  # ticks that arrived before their limits: now with them
                raw = self._raw.get(symbol)
                if raw is not None:
                    self._ingest(symbol, raw)
            self._load_full_ticks([s for s in symbols if s not in self._latest])
        except errors.BridgeError:
            self.close(stream)
            raise
        with self._lock:
            for symbol in symbols:
                latest = self._latest.get(symbol)
                if latest is not None:
                    stream.mailbox.put(symbol, *latest)
            stream.primed = True
        return stream

    def close(self, stream: Stream) -> None:
        with self._lock:
            if stream not in self._streams:
                return
            self._streams.discard(stream)
            for symbol in stream.wanted:
                left = self._wanted.get(symbol, 0) - 1
                if left > 0:
                    self._wanted[symbol] = left
                else:
                    self._wanted.pop(symbol, None)
        stream.mailbox.close("closed")

    # -- xtdata pushes (on xtquant's thread: quick work only) ------------------------------

    def on_push(self, datas: Any) -> None:
        if not isinstance(datas, dict):
            return
        for symbol, tick in datas.items():
            if isinstance(tick, list):  # subscribe_quote's shape {code: [tick, ...]}
                tick = tick[-1] if tick else None
            if isinstance(tick, dict) and symbol in self._wanted:
                self._ingest(symbol, tick)

    def _ingest(self, symbol: str, tick: dict[str, Any]) -> None:
        # Under the lock from reading the detail to storing the event: the push thread and a
        # detail refresh both ingest, and an event built from an older detail must not land last.
        with self._lock:
            lot = self._lot_for(symbol, tick)
            detail = self._detail_for(symbol)
            up, down, problem = limits_of(symbol, tick, detail)
            key = f"limits:{symbol}"
            self._raw[symbol] = tick
            if problem and detail is not None:
                self._problems[key] = f"{symbol}: limits left null: {problem}"
                self._ask_detail(symbol)
            else:
                self._problems.pop(key, None)
            event = event_of(symbol, tick, lot, up, down)
            if event is None:
                return
            latest = self._latest.get(symbol)
            if latest is not None and latest[1] == event:
                return  # xtdata re-sent what we have (e.g. a resubscription's first push)
            self._version += 1
            self._latest[symbol] = (self._version, event)
            # Streams still building their first frame take the latest when they are primed.
            targets = [s for s in self._streams if s.primed and symbol in s.wanted]
            version = self._version
        for stream in targets:
            stream.mailbox.put(symbol, version, event)

    def _lot_for(self, symbol: str, tick: dict[str, Any]) -> int:
        measured, how = measured_lot(tick)
        expected = default_lot(symbol)
        with self._lock:
            if measured is None:
                return self._lots.get(symbol, expected)
            self._lots[symbol] = measured
            key = f"units:{symbol}"
            if measured != expected and not is_fund(symbol):  # fund units are not documented
                self._problems[key] = (
                    f"{symbol}: xtdata volumes arrive in units of {measured} share(s), not {expected} "
                    f"(measured by {how}); the bridge scales by {measured}")
            else:
                self._problems.pop(key, None)
            return measured

    # -- instrument details (limits) -------------------------------------------------------

    def _detail_for(self, symbol: str) -> Optional[dict[str, Any]]:
        with self._lock:
            cached = self._details.get(symbol)
            if cached is not None and cached[0] == trading_day(self._clock()):
                return cached[1]
            self._ask_detail(symbol)
            return None

    def _ask_detail(self, symbol: str) -> None:
        """Fetches the detail in the background, at most every DETAIL_RETRY_SECONDS per symbol."""
        now = time.monotonic()
        if now - self._detail_asked.get(symbol, -DETAIL_RETRY_SECONDS) < DETAIL_RETRY_SECONDS:
            return
        self._detail_asked[symbol] = now
        try:
            self._lane.submit(self._refresh_detail, symbol, key=("detail", symbol), label="get_instrument_detail")
        except LaneFull:
            pass  # retried on a later tick

    def _refresh_detail(self, symbol: str) -> None:
        detail = self._xtdata.get_instrument_detail(symbol)
        with self._lock:
            self._details[symbol] = (trading_day(self._clock()), detail if isinstance(detail, dict) else None)
            self._problems.pop("details", None)
            raw = self._raw.get(symbol)
        if raw is not None:
            self._ingest(symbol, raw)

    def _load_details(self, symbols: list[str]) -> None:
        day = trading_day(self._clock())
        with self._lock:
            missing = [s for s in symbols if self._details.get(s, ("",))[0] != day]

        def fetch() -> dict[str, Any]:
            return {s: self._xtdata.get_instrument_detail(s) for s in missing}

        if not missing:
            return
        found = self._call(fetch, self._deadline + 0.01 * len(missing), "get_instrument_detail")
        with self._lock:
            for symbol in missing:
                detail = found.get(symbol)
                self._details[symbol] = (day, detail if isinstance(detail, dict) else None)
                self._detail_asked[symbol] = time.monotonic()

    # -- first frames ----------------------------------------------------------------------

    def _load_full_ticks(self, symbols: list[str]) -> None:
        for start in range(0, len(symbols), self._chunk):
            chunk = symbols[start:start + self._chunk]
            try:
                ticks = self._call(lambda c=chunk: self._xtdata.get_full_tick(c), self._deadline, "get_full_tick")
            except errors.BridgeError as exc:
                # The subscription's own first push still brings these symbols shortly.
                log.warning("get_full_tick for %d codes: %s", len(chunk), exc.message)
                continue
            self.on_push(ticks)

    # -- subscription and reconnection -----------------------------------------------------

    def _subscribe(self) -> None:
        with self._lock:
            codes = sorted(self._wanted)
            old = self._subscription
        if not codes:
            return
        seq = self._call(lambda: self._xtdata.subscribe_whole_quote(codes, callback=self.on_push),
                         self._deadline, "subscribe_whole_quote")
        if not isinstance(seq, int) or seq <= 0:
            raise errors.not_ready(f"subscribe_whole_quote refused {len(codes)} codes (returned {seq!r})")
        with self._lock:
            self._subscription, self._subscribed = seq, frozenset(codes)
        if old is not None:
            try:
                self._call(lambda: self._xtdata.unsubscribe_quote(old), self._deadline, "unsubscribe_quote")
            except errors.BridgeError as exc:
                log.warning("unsubscribe_quote(%s): %s", old, exc.message)

    def _call(self, fn: Callable[[], Any], deadline: float, label: str) -> Any:
        try:
            future = self._lane.submit(fn, label=label)
        except LaneFull as exc:
            raise errors.not_ready(f"xtdata is not answering: {exc}") from exc
        try:
            return future.result(timeout=deadline)
        except FutureTimeout:
            raise errors.not_ready(f"xtdata {label} did not answer within {deadline:.1f}s") from None
        except errors.BridgeError:
            raise
        except Exception as exc:  # xtdata raises plain Exceptions with Chinese text
            raise errors.not_ready(f"xtdata {label} failed: {exc}") from exc

    def _watch(self) -> None:
        try:
            from xtquant import xtdata
        except ImportError as exc:
            with self._lock:
                self._problems["import"] = f"xtquant.xtdata cannot be imported ({exc}); no quote stream"
            log.warning("no quote stream: %s", exc)
            return
        self._xtdata = xtdata
        attempt = 0
        while not self._stopping.is_set():
            client = self._probe()
            if client is not None and client is self._client and self._ready:
                attempt = 0
                self._stopping.wait(self._probe_interval)
                continue
            if client is not None:
                if self._resume(client):
                    attempt = 0
                    continue
            else:
                self._lost()
                try:
                    self._call(lambda: _reconnect(xtdata), self._deadline, "reconnect")
                    continue
                except errors.BridgeError as exc:
                    log.info("quote service still unreachable: %s", exc.message)
            delay = self._backoff[min(attempt, len(self._backoff) - 1)]
            attempt += 1
            self._stopping.wait(delay)

    def _probe(self) -> Any:
        """The connected xtdata client, or None: what xtdata.run() checks every 3 s."""
        try:
            client = self._call(self._xtdata.get_client, self._deadline, "get_client")
            return client if client is not None and client.is_connected() else None
        except Exception:
            return None

    def _resume(self, client: Any) -> bool:
        """A (new) connected client: nothing subscribed on it yet, so subscribe again."""
        with self._lock:
            self._subscription, self._subscribed = None, frozenset()
        try:
            self._subscribe()
        except errors.BridgeError as exc:
            log.warning("cannot subscribe after connecting: %s", exc.message)
            return False
        with self._lock:
            was_ready, self._client, self._ready = self._ready, client, True
            self._problems.pop("disconnected", None)
        if not was_ready:
            log.info("connected to the QMT quote service")
        return True

    def _lost(self) -> None:
        with self._lock:
            self._problems["disconnected"] = f"QMT quote service: {DISCONNECTED}; reconnecting"
            if not self._ready and self._client is None:
                return
            self._ready, self._client = False, None
            self._latest.clear()
            self._raw.clear()
        log.warning("%s; reconnecting", DISCONNECTED)
        self._drop_streams(DISCONNECTED)

    def _drop_streams(self, reason: str) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.mailbox.close(reason)


def _reconnect(xtdata: Any) -> Any:
    reconnect = getattr(xtdata, "reconnect", None)  # older builds only have connect()
    return reconnect() if callable(reconnect) else xtdata.connect()


def parse_symbols(raw: Optional[str], pattern: Any, limit: int = 6000) -> list[str]:
    """?symbols=002116.SZ,600519.SH -> ordered, without duplicates; every problem is named."""
    if not raw:
        raise errors.invalid("symbols is required, e.g. ?symbols=002116.SZ,600519.SH")
    symbols: list[str] = []
    seen: set[str] = set()
    for part in raw.split(","):
        symbol = part.strip().upper()
        if not pattern.match(symbol):
            raise errors.invalid(f"symbols: {part.strip()!r} is not like 600000.SH, 000001.SZ or 920118.BJ")
        if symbol not in seen:
            seen.add(symbol)
            symbols.append(symbol)
    if len(symbols) > limit:
        raise errors.invalid(f"symbols: at most {limit} per stream")
    return symbols


def frames(events: Iterable[dict[str, Any]], first_seq: int) -> tuple[bytes, int]:
    """SSE bytes for a batch of events and the next seq."""
    chunks: list[str] = []
    seq = first_seq
    for event in events:
        chunks.append("id: %d\ndata: %s\n\n" % (seq, json.dumps({**event, "seq": seq}, ensure_ascii=False,
                                                                 separators=(",", ":"))))
        seq += 1
    return "".join(chunks).encode("utf-8"), seq
