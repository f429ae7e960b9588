"""Field names as in xtquant/xttype.py (brokers.md §2.3)."""
from __future__ import annotations

from dataclasses import dataclass


class StockAccount:
    def __init__(self, account_id: str, account_type: str = "STOCK") -> None:
        self.account_id = account_id
        self.account_type = account_type


@dataclass
class XtAsset:
    account_id: str
    cash: float
    frozen_cash: float
    market_value: float
    total_asset: float
    account_type: int = 2
    fetch_balance: float = 0.0


@dataclass
class XtPosition:
    account_id: str
    stock_code: str
    volume: int
    can_use_volume: int
    open_price: float
    avg_price: float
    market_value: float
    frozen_volume: int = 0
    on_road_volume: int = 0
    yesterday_volume: int = 0
    instrument_name: str = ""
    last_price: float = 0.0
    account_type: int = 2


@dataclass
class XtOrder:
    account_id: str
    stock_code: str
    order_id: int
    order_sysid: str
    order_time: int
    order_type: int
    order_volume: int
    price_type: int
    price: float
    traded_volume: int
    traded_price: float
    order_status: int
    status_msg: str
    strategy_name: str
    order_remark: str
    direction: int = 48
    offset_flag: int = 49
    account_type: int = 2


@dataclass
class XtOrderError:
    account_id: str
    order_id: int
    error_id: int
    error_msg: str
    strategy_name: str
    order_remark: str
    account_type: int = 2
