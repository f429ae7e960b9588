"""The market behind the fake xtdata: what miniQMT's quote service would hold, driven by tests.

Shapes follow the real xtdata (dict.thinktrader.net innerApi/data_structure.html "tick - 分笔数据";
a real get_full_tick answer quoted in public code: 'askPrice': [0.0]*5, 'bidVol': [0]*5, 'volume'
in 手, 'pvolume' in 股, 'openInt': 13, 'stockStatus': 0) and reference/eastmoney-quotes-calendar.md
§2.1: five-level lists, volumes in lots for stocks, no limit prices in the tick (those are in
get_instrument_detail: UpStopPrice/DownStopPrice/PreClose), `timetag` 'YYYYMMDD HH:MM:SS',
pushes only of codes that changed, the current data first on subscribe, get_full_tick timing out
on a few thousand codes, and a client whose is_connected() turns False when the service drops.
"""
from __future__ import annotations

import queue
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

SHANGHAI = timezone(timedelta(hours=8))


def tick(last: float, prev_close: float, bids: list[tuple[float, int]], asks: list[tuple[float, int]],
         shares: int, amount: float, timetag: str = "20261124 10:01:03", open_int: int = 13,
         units: str = "lots", high: Optional[float] = None, low: Optional[float] = None) -> dict[str, Any]:
    """A tick as xtdata sends it. Book and volume arguments are in shares; `units` says how the
    fake writes them: "lots" (the real stocks' 手, pvolume in shares), "shares" (volume ==
    pvolume, as the doc's ETF sample), "shares_no_pvolume" (a broken fake: shares, no pvolume)."""
    per = 100 if units == "lots" else 1

    def prices(side: list[tuple[float, int]]) -> list[float]:  # xtdata pads to 5 levels with 0
        return [p for p, _ in side[:5]] + [0.0] * (5 - len(side[:5]))

    def volumes(side: list[tuple[float, int]]) -> list[int]:
        return [v // per for _, v in side[:5]] + [0] * (5 - len(side[:5]))
    when = datetime.strptime(timetag, "%Y%m%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    data: dict[str, Any] = {
        "time": int(when.timestamp() * 1000), "timetag": timetag,
        "lastPrice": last, "open": prev_close, "high": high if high is not None else last,
        "low": low if low is not None else prev_close, "lastClose": prev_close, "amount": amount,
        "volume": shares // per, "pvolume": shares, "stockStatus": 0, "openInt": open_int,
        "transactionNum": 1234, "lastSettlementPrice": 0.0, "settlementPrice": 0.0, "pe": 0.0,
        "askPrice": prices(asks), "bidPrice": prices(bids),
        "askVol": volumes(asks), "bidVol": volumes(bids),
        "volRatio": 0.0, "speed1Min": 0.0, "speed5Min": 0.0,
    }
    if units == "shares_no_pvolume":
        del data["pvolume"]
    return data


def detail(name: str, pre_close: float, up: float, down: float, tick_size: float = 0.01) -> dict[str, Any]:
    """get_instrument_detail's answer (the fields the bridge reads, plus neighbours)."""
    return {"ExchangeID": "", "InstrumentID": "", "InstrumentName": name, "PreClose": pre_close,
            "UpStopPrice": up, "DownStopPrice": down, "PriceTick": tick_size, "FloatVolume": 1.0e9,
            "TotalVolume": 1.2e9, "InstrumentStatus": 0, "IsTrading": True}


class FakeClient:
    def __init__(self) -> None:
        self.alive = True

    def is_connected(self) -> bool:
        return self.alive

    def shutdown(self) -> None:
        self.alive = False


class FakeMarket:
    def __init__(self) -> None:
        self._pushes: "queue.Queue[Optional[tuple[Callable[[Any], None], dict[str, Any]]]]" = queue.Queue()
        threading.Thread(target=self._dispatch, name="fake-xtdata-push", daemon=True).start()
        self.reset()

    def reset(self) -> None:
        self.reachable = True
        self.client: Optional[FakeClient] = None
        self.ticks: dict[str, dict[str, Any]] = {}
        self.details: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[int, tuple[list[str], Callable[[Any], None]]] = {}
        self.next_seq = 1
        self.subscribe_calls: list[list[str]] = []
        self.unsubscribe_calls: list[int] = []
        self.full_tick_calls: list[list[str]] = []
        self.detail_calls: list[str] = []
        self.reconnects = 0
        self.full_tick_limit = 2000  # more codes than this in one call: it hangs, then fails
        self.full_tick_hang = 2.0
        self.detail_fails = False  # get_instrument_detail raises, as when the service is busy

    # -- what tests do -----------------------------------------------------------------

    def set(self, code: str, data: dict[str, Any], push: bool = True) -> None:
        """A new tick for code; subscribers hear of it (only of it: xtdata pushes changes)."""
        self.ticks[code] = data
        if push:
            for codes, callback in list(self.subscriptions.values()):
                if code in codes or code.split(".")[-1] in codes:
                    self._pushes.put((callback, {code: dict(data)}))

    def drop(self) -> None:
        """The quote service goes away: the client dies, its subscriptions with it."""
        self.reachable = False
        if self.client is not None:
            self.client.alive = False
        self.subscriptions.clear()

    def restore(self) -> None:
        self.reachable = True

    def settle(self, timeout: float = 2.0) -> bool:
        """Waits until every push queued so far has been delivered; False if it timed out."""
        done = threading.Event()
        self._pushes.put((lambda _: done.set(), {}))
        return done.wait(timeout)

    # -- what xtdata does ----------------------------------------------------------------

    def get_client(self) -> FakeClient:
        if self.client is None or not self.client.alive:
            if not self.reachable:
                raise Exception("无法连接xtquant服务，请检查QMT-投研版或QMT-极简版是否开启")
            self.client = FakeClient()
        return self.client

    def subscribe(self, code_list: list[str], callback: Optional[Callable[[Any], None]]) -> int:
        client = self.get_client()
        self.subscribe_calls.append(list(code_list))
        seq = self.next_seq
        self.next_seq += 1
        if callback is not None and client.alive:
            self.subscriptions[seq] = (list(code_list), callback)
            first = {c: dict(t) for c, t in self.ticks.items() if c in code_list or c.split(".")[-1] in code_list}
            if first:  # "订阅后会首先返回当前最新的全推数据"
                self._pushes.put((callback, first))
        return seq

    def full_tick(self, code_list: list[str]) -> dict[str, Any]:
        self.get_client()
        self.full_tick_calls.append(list(code_list))
        if len(code_list) > self.full_tick_limit:
            threading.Event().wait(self.full_tick_hang)
            raise Exception("get_full_tick timed out")
        return {c: dict(self.ticks[c]) for c in code_list if c in self.ticks}

    def _dispatch(self) -> None:
        while True:
            item = self._pushes.get()
            if item is None:
                return
            callback, datas = item
            try:
                callback(datas)
            except Exception:  # a subscriber's bug must not stop the fake's push thread
                pass


MARKET = FakeMarket()
