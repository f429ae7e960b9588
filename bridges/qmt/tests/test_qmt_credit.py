"""--account-type credit: a 融资融券 account sells its collateral (担保品卖出) through the bridge.

The fake follows xtquant's credit side (xttrader doc "信用查询接口", xttype.py / xtconstant.py as
vendored in specialsal/SilverQuant@da1b137): StockAccount(id, 'CREDIT') carries account_type 3,
CREDIT_SELL is 24 like STOCK_SELL (the account makes it a credit order), query_credit_detail
answers XtCreditDetail (m_dBalance, m_dAvailable, ...), positions come from
query_stock_positions on the credit account, and query_account_infos lists what miniQMT has
logged in (XtAccountInfo.account_type, 2 STOCK / 3 CREDIT).
"""
from __future__ import annotations

from tests.qmt_harness import ACCOUNT, SELL, BridgeCase, COUNTER
from xtquant.xttype import XtAccountInfo, XtPosition

CID = SELL["client_order_id"]


class CreditCase(BridgeCase):
    account_type = "credit"

    def prepare_counter(self) -> None:
        COUNTER.accounts = [XtAccountInfo(ACCOUNT, 3)]


class CreditSells(CreditCase):
    def test_a_sell_goes_out_as_credit_sell_on_the_credit_account(self) -> None:
        self.assertEqual(self.sell()[0], 201)
        self.assertEqual(COUNTER.order_calls, [
            (ACCOUNT, "002116.SZ", 24, 10000, 11, 10.02, "sealguard", CID),  # 24 = CREDIT_SELL
        ])
        self.assertEqual(COUNTER.order_accounts, [(ACCOUNT, 3)])
        order = self.call("GET", f"/v1/orders/{CID}")[1]
        self.assertEqual((order["status"], order["broker_order_id"]), ("submitted", "1001"))

    def test_health_names_the_account_type(self) -> None:
        health = self.call("GET", "/v1/health")[1]
        self.assertEqual((health["connected"], health["account_type"]), (True, "credit"))
        self.assertNotIn("warnings", health)

    def test_positions_and_sellable_come_from_the_credit_account(self) -> None:
        COUNTER.positions = [XtPosition(ACCOUNT, "600000.SH", 5000, 5000, 8.0, 8.0, 40000.0)]
        COUNTER.credit_positions = [
            XtPosition(ACCOUNT, "002116.SZ", 10000, 7000, 9.4, 9.5, 100200.0, instrument_name="中国海诚",
                       last_price=10.02, account_type=3)]
        self.assertEqual(self.call("GET", "/v1/positions"), (200, {"positions": [
            {"symbol": "002116.SZ", "name": "中国海诚", "quantity": 10000, "sellable_quantity": 7000,
             "avg_cost": "9.50", "last_price": "10.02", "market_value": "100200.00"},
        ]}))

    def test_the_account_is_the_credit_detail_with_its_debt(self) -> None:
        self.assertEqual(self.call("GET", "/v1/account"), (200, {
            "account_id": "****0365", "total_asset": "1523456.78", "cash_available": "300000.00",
            "market_value": "1223456.78", "account_type": "credit", "total_debt": "400000.00",
            "maintenance_ratio": "3.0500",
        }))

    def test_without_a_credit_detail_the_stock_asset_query_is_used(self) -> None:
        from xtquant.xttype import XtAsset

        COUNTER.credit_detail = None
        COUNTER.credit_asset = XtAsset(ACCOUNT, 1000.0, 0.0, 2000.0, 3000.0, account_type=3)
        reply = self.call("GET", "/v1/account")
        self.assertEqual((reply[0], reply[1]["total_asset"], reply[1]["cash_available"]),
                         (200, "3000.00", "1000.00"))
        self.assertNotIn("total_debt", reply[1])

    def test_cancels_go_to_the_credit_account(self) -> None:
        self.sell()
        status, order = self.cancel(CID)
        self.assertEqual((status, order["status"]), (200, "cancelled"))


class StockAndCreditUnderOneId(CreditCase):
    def prepare_counter(self) -> None:
        COUNTER.accounts = [XtAccountInfo(ACCOUNT, 2), XtAccountInfo(ACCOUNT, 3)]

    def test_the_credit_one_is_used(self) -> None:
        self.assertEqual(self.sell()[0], 201)
        self.assertEqual(COUNTER.order_accounts, [(ACCOUNT, 3)])


class CreditConfiguredStockLoggedIn(CreditCase):
    connect_on_start = False

    def prepare_counter(self) -> None:
        COUNTER.accounts = [XtAccountInfo(ACCOUNT, 2)]

    def test_nothing_is_sent_and_every_answer_says_why_until_the_types_match(self) -> None:
        self.wait_for(lambda: self.bridge is not None and self.bridge.session.account_problem is not None)
        health = self.call("GET", "/v1/health")[1]
        self.assertEqual((health["status"], health["connected"], health["account_type"]),
                         ("degraded", False, "credit"))
        self.assertIn("logged in as STOCK", health["warnings"][0])
        self.assertIn("--account-type credit", health["warnings"][0])
        self.assertNotIn(ACCOUNT, str(health))  # masked
        reply = self.sell()
        self.assert_error(reply, 503, "BRIDGE_NOT_READY", retryable=False)
        self.assertIn("logged in as STOCK", reply[1]["error"]["message"])
        self.assert_error(self.call("GET", "/v1/positions"), 503, "BRIDGE_NOT_READY", retryable=False)
        self.assertEqual(COUNTER.order_calls, [])

        COUNTER.accounts.append(XtAccountInfo(ACCOUNT, 3))  # the operator logs the credit account in
        assert self.bridge is not None
        self.assertTrue(self.bridge.session.wait_connected(3))
        self.assertNotIn("warnings", self.call("GET", "/v1/health")[1])
        self.assertEqual(self.sell()[0], 201)
        self.assertEqual(COUNTER.order_accounts, [(ACCOUNT, 3)])


class StockConfiguredCreditLoggedIn(BridgeCase):
    connect_on_start = False

    def prepare_counter(self) -> None:
        COUNTER.accounts = [XtAccountInfo(ACCOUNT, 3)]

    def test_a_credit_account_used_as_stock_is_refused(self) -> None:
        self.wait_for(lambda: self.bridge is not None and self.bridge.session.account_problem is not None)
        reply = self.sell()
        self.assert_error(reply, 503, "BRIDGE_NOT_READY", retryable=False)
        self.assertIn("logged in as CREDIT", reply[1]["error"]["message"])
        self.assertIn("--account-type stock", reply[1]["error"]["message"])
        self.assertEqual(COUNTER.order_calls, [])


class AccountNotLoggedIn(CreditCase):
    connect_on_start = False

    def prepare_counter(self) -> None:
        COUNTER.accounts = [XtAccountInfo("8800009999", 2)]

    def test_an_account_miniqmt_does_not_list_is_named_with_what_it_does_list(self) -> None:
        self.wait_for(lambda: self.bridge is not None and self.bridge.session.account_problem is not None)
        message = self.call("GET", "/v1/health")[1]["warnings"][0]
        self.assertIn("no CREDIT account ****0365 logged in", message)
        self.assertIn("****9999 STOCK", message)
        self.assert_error(self.sell(), 503, "BRIDGE_NOT_READY", retryable=False)


class NamesInsteadOfNumbers(CreditCase):
    def prepare_counter(self) -> None:
        COUNTER.accounts = [XtAccountInfo(ACCOUNT, "CREDIT")]  # type: ignore[arg-type]

    def test_a_build_that_names_the_type_is_read_the_same_way(self) -> None:
        self.assertEqual(self.sell()[0], 201)


class LoginCheckOff(CreditCase):
    check_login = False

    def test_no_login_check_does_not_list_accounts(self) -> None:
        self.assertNotIn("query_account_infos", COUNTER.query_calls)
        self.assertEqual(self.sell()[0], 201)
