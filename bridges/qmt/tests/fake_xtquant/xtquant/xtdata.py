"""A FAKE xtquant.xtdata with the real module's function names and signatures (vendored
xtquant/xtdata.py: connect/reconnect/get_client, subscribe_whole_quote(code_list, callback=None),
unsubscribe_quote(seq), get_full_tick(code_list), get_instrument_detail(stock_code, iscomplete=False),
run() raising '行情服务连接断开'), backed by fake_market.MARKET."""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

from .fake_market import MARKET


def connect(ip: str = "", port: Any = None, remember_if_success: bool = True) -> Any:
    return MARKET.get_client()


def reconnect(ip: str = "", port: Any = None, remember_if_success: bool = True) -> Any:
    MARKET.reconnects += 1
    if MARKET.client is not None:
        MARKET.client.shutdown()
        MARKET.client = None
    return MARKET.get_client()


def get_client() -> Any:
    return MARKET.get_client()


def subscribe_whole_quote(code_list: list[str], callback: Optional[Callable[[Any], None]] = None) -> int:
    return MARKET.subscribe(list(code_list), callback)


def unsubscribe_quote(seq: int) -> None:
    MARKET.unsubscribe_calls.append(seq)
    MARKET.subscriptions.pop(seq, None)


def get_full_tick(code_list: list[str]) -> dict[str, Any]:
    return MARKET.full_tick(list(code_list))


def get_instrument_detail(stock_code: str, iscomplete: bool = False) -> Optional[dict[str, Any]]:
    MARKET.detail_calls.append(stock_code)
    MARKET.get_client()
    if MARKET.detail_fails:
        raise Exception("get_instrument_detail: 请求超时")
    found = MARKET.details.get(stock_code)
    return dict(found) if found is not None else None


def run() -> None:
    client = get_client()
    while True:
        time.sleep(3)
        if not client.is_connected():
            raise Exception("行情服务连接断开")
