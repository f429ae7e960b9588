"""Field names as in xtquant/xttype.py (brokers.md §2.3; StockAccount, XtCancelError and the
credit structures as in the xttype.py vendored in specialsal/SilverQuant@da1b137 and the
xttrader doc's "XtCreditDetail" / "XtAccountInfo" tables)."""
from __future__ import annotations

from dataclasses import dataclass

from . import xtconstant


class StockAccount:
    """Like the real one: the type name is upper-cased and stored as its int (CREDIT -> 3);
    an unknown name raises "不支持的账号类型"."""

    def __init__(self, account_id: str, account_type: str = "STOCK") -> None:
        wanted = account_type.upper()
        for int_type, str_type in xtconstant.ACCOUNT_TYPE_DICT.items():
            if wanted == str_type:
                self.account_type = int_type
                self.account_id = account_id
                return
        raise Exception("不支持的账号类型：{}！".format(wanted))


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


@dataclass
class XtCancelError:
    account_id: str
    order_id: int
    market: int
    order_sysid: str
    error_id: int
    error_msg: str
    account_type: int = 2


@dataclass
class XtAccountInfo:
    account_id: str
    account_type: int  # 2 STOCK, 3 CREDIT (xtconstant)
    login_status: int = 0  # ACCOUNT_STATUS_OK
    broker_type: int = 0
    platform_id: int = 0
    account_classification: int = 0


@dataclass
class XtCreditDetail:
    """query_credit_detail's item: the C++ field names the doc lists (m_d...)."""
    account_id: str
    m_dBalance: float  # 总资产
    m_dAvailable: float  # 可用金额
    m_dMarketValue: float  # 总市值
    m_dTotalDebt: float = 0.0  # 总负债
    m_dPerAssurescaleValue: float = 0.0  # 维持担保比例
    m_dFetchBalance: float = 0.0
    m_nStatus: int = 0
    account_type: int = 3
