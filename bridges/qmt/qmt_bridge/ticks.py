"""xtdata ticks -> quote stream events (pure, no I/O).

The tick shape is xtdata's (get_full_tick, subscribe_whole_quote pushes; dict.thinktrader.net
innerApi/data_structure.html, reference/eastmoney-quotes-calendar.md §2.1):
`timetag` 'YYYYMMDD HH:MM:SS', `time` ms, `lastPrice`, `lastClose`, `amount` (yuan), `volume`
(手 for stocks), `pvolume` (股), `openInt` (stock status code), `bidPrice`/`askPrice`/`bidVol`/
`askVol` as five-element lists (volumes in the same unit as `volume`). No limit prices: those come
from `get_instrument_detail` (`UpStopPrice`, `DownStopPrice`, `PreClose`).
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Optional

from .wire import SHANGHAI, decimal_string, price_places

TIMETAG = re.compile(r"^(\d{4})(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})")

# openInt for stocks: 1 停牌, 16 波动性中断, 17 临时停牌, 20 暂停交易至闭市. Everything else is a session
# phase (11 开盘前 ... 15 闭市, 18/19 auctions) or unknown (0, 10, 21), which SealGuard reads
# from the time; only trading halts change `status`.
SUSPENDED_OPEN_INT = frozenset({1, 16, 17, 20})

LOT_CHOICES = (1, 10, 100)


def exchange_time(tick: dict[str, Any]) -> Optional[str]:
    """The tick's own time in Shanghai; never the bridge's clock."""
    tag = tick.get("timetag")
    if isinstance(tag, str):
        match = TIMETAG.match(tag)
        if match:
            y, m, d, hh, mm, ss = match.groups()
            return f"{y}-{m}-{d}T{hh}:{mm}:{ss}+08:00"
    millis = tick.get("time")
    if isinstance(millis, (int, float)) and not isinstance(millis, bool) and millis > 0:
        return datetime.fromtimestamp(millis / 1000, SHANGHAI).isoformat(timespec="seconds")
    return None


def status_of(open_int: Any) -> str:
    try:
        return "suspended" if int(open_int) in SUSPENDED_OPEN_INT else "normal"
    except (TypeError, ValueError):
        return "normal"


def default_lot(symbol: str) -> int:
    """Shares per `volume` unit before anything traded (nothing to measure yet): bonds 10 (1手 =
    10张), funds/ETFs 1 (the doc's ETF tick has volume == pvolume), shares 100 (手)."""
    code, market = symbol.split(".")
    if (market == "SH" and code[:2] == "11") or (market == "SZ" and code[:2] == "12"):
        return 10
    if is_fund(symbol):
        return 1
    return 100


def is_fund(symbol: str) -> bool:
    code, market = symbol.split(".")
    return (market == "SH" and code[:1] == "5") or (market == "SZ" and code[:2] in ("15", "16", "18"))


def measured_lot(tick: dict[str, Any]) -> tuple[Optional[int], str]:
    """Shares per unit of `volume`/`bidVol`, measured on the tick itself.

    pvolume is in shares, so pvolume / volume gives it directly (about 100 for stocks; 1 where the
    terminal already counts shares, as the doc's ETF sample does). Without pvolume, the turnover
    does: amount / (volume x lot) must be near the last price."""
    volume = _number(tick.get("volume"))
    if volume is None or volume <= 0:
        return None, "no volume yet"
    pvolume = _number(tick.get("pvolume"))
    if pvolume is not None and pvolume > 0:
        return _nearest(pvolume / volume), "pvolume/volume"
    amount, last = _number(tick.get("amount")), _number(tick.get("lastPrice"))
    if amount and last and amount > 0 and last > 0:
        return _nearest(amount / (volume * last)), "amount/(volume*lastPrice)"
    return None, "no pvolume or amount"


def limits_of(symbol: str, tick: dict[str, Any], detail: Optional[dict[str, Any]]) -> tuple[
        Optional[str], Optional[str], Optional[str]]:
    """(limit_up, limit_down, problem). The detail holds one day's limits; it is only trusted when
    its PreClose is the tick's lastClose, so yesterday's limits are never sent as today's."""
    if not detail:
        return None, None, "no instrument detail"
    places = price_places(symbol)
    pre_close = decimal_string(detail.get("PreClose"), places)
    last_close = decimal_string(tick.get("lastClose"), places)
    if pre_close is None or last_close is None or pre_close != last_close:
        return None, None, f"instrument detail PreClose {pre_close} is not the tick's lastClose {last_close}"
    up, down = _positive(detail.get("UpStopPrice")), _positive(detail.get("DownStopPrice"))
    if up is None or down is None:
        return None, None, None  # a no-limit day (IPO days, ...): null, as the protocol says
    return decimal_string(up, places), decimal_string(down, places), None


def book(symbol: str, prices: Any, volumes: Any, lot: int) -> list[list[Any]]:
    places = price_places(symbol)
    levels: list[list[Any]] = []
    for price, volume in zip(list(prices or []), list(volumes or [])):
        p, v = _number(price), _number(volume)
        if p is None or v is None or p <= 0 or v <= 0:
            continue  # xtdata pads missing levels with 0 (an empty ask side at limit-up)
        levels.append([decimal_string(p, places), int(v) * lot])
    return levels


def event_of(symbol: str, tick: dict[str, Any], lot: int, limit_up: Optional[str],
             limit_down: Optional[str]) -> Optional[dict[str, Any]]:
    """One stream event without its seq, or None when the tick has no usable time or price."""
    time = exchange_time(tick)
    last = _number(tick.get("lastPrice"))
    if time is None or last is None:
        return None
    places = price_places(symbol)
    pvolume = _number(tick.get("pvolume"))
    volume = _number(tick.get("volume")) or 0
    shares = int(pvolume) if pvolume is not None and pvolume > 0 else int(volume) * lot
    return {
        "symbol": symbol,
        "time": time,
        "status": status_of(tick.get("openInt")),
        "last": decimal_string(last, places),
        "prev_close": decimal_string(tick.get("lastClose"), places),
        "limit_up": limit_up,
        "limit_down": limit_down,
        "bids": book(symbol, tick.get("bidPrice"), tick.get("bidVol"), lot),
        "asks": book(symbol, tick.get("askPrice"), tick.get("askVol"), lot),
        "volume": shares,
        "amount": decimal_string(tick.get("amount") or 0, 2),
    }


def _nearest(ratio: float) -> int:
    return min(LOT_CHOICES, key=lambda lot: abs(math.log(ratio / lot)))


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _positive(value: Any) -> Optional[float]:
    number = _number(value)
    return number if number is not None and number > 0 else None
