"""Auth, health, account and positions as BRIDGE-PROTOCOL.md v1 describes them."""
from __future__ import annotations

import http.client
import json
import time

from tests.qmt_harness import TOKEN, BridgeCase, COUNTER
from xtquant.xttype import XtPosition


class Auth(BridgeCase):
    def test_a_missing_token_gets_401_unauthorized(self) -> None:
        self.assert_error(self.call("GET", "/v1/health", token=None), 401, "UNAUTHORIZED")

    def test_a_wrong_token_gets_401_and_no_order_is_placed(self) -> None:
        reply = self.call("POST", "/v1/orders", {"client_order_id": "x"}, token="guess",
                          headers={"Idempotency-Key": "x"})
        self.assert_error(reply, 401, "UNAUTHORIZED")
        self.assertEqual(COUNTER.order_calls, [])

    def test_a_refused_post_leaves_a_kept_alive_connection_usable(self) -> None:
        assert self.bridge is not None
        connection = http.client.HTTPConnection("127.0.0.1", self.bridge.port, timeout=5)
        connection.request("POST", "/v1/orders", body=b'{"client_order_id":"sg20261124a1b2c3"}',
                           headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"})
        first = connection.getresponse()
        first.read()
        connection.request("GET", "/v1/health", headers={"Authorization": f"Bearer {TOKEN}"})
        second = connection.getresponse()
        self.assertEqual((first.status, second.status, json.loads(second.read())["connected"]), (401, 200, True))
        connection.close()

    def test_the_token_never_appears_in_answers(self) -> None:
        status, body = self.call("GET", "/v1/health", token="wrong")
        self.assertEqual(status, 401)
        self.assertNotIn("test-token", str(body))


class Health(BridgeCase):
    def test_health_reports_connected_masked_account_and_shanghai_time(self) -> None:
        self.assertEqual(self.call("GET", "/v1/health"), (200, {
            "status": "ok", "broker": "qmt", "connected": True, "account_id": "****0365",
            "account_type": "stock", "trading_day": "2026-11-24", "server_time": "2026-11-24T10:01:02+08:00",
            "quotes": {"connected": True, "streams": 0, "symbols": 0},
        }))

    def test_the_first_session_uses_the_configured_session_id(self) -> None:
        self.assertEqual(COUNTER.connects, [100])

    def test_unknown_paths_are_404_in_the_error_envelope(self) -> None:
        self.assert_error(self.call("GET", "/v1/quotes"), 404, "NOT_FOUND")


class Account(BridgeCase):
    def test_account_money_is_decimal_strings_and_the_id_is_masked(self) -> None:
        self.assertEqual(self.call("GET", "/v1/account"), (200, {
            "account_id": "****0365", "total_asset": "1023456.78",
            "cash_available": "500000.00", "market_value": "523456.78",
        }))


class Positions(BridgeCase):
    def test_sellable_quantity_is_can_use_volume_so_todays_buys_are_not_sold(self) -> None:
        COUNTER.positions = [
            XtPosition("1000000365", "002116.SZ", 10000, 6000, 9.4, 9.5, 100200.0,
                       instrument_name="中国海诚", last_price=10.02),
            XtPosition("1000000365", "510300.SH", 2000, 2000, 3.9, 3.912, 7830.0, last_price=3.915),
        ]
        self.assertEqual(self.call("GET", "/v1/positions"), (200, {"positions": [
            {"symbol": "002116.SZ", "name": "中国海诚", "quantity": 10000, "sellable_quantity": 6000,
             "avg_cost": "9.50", "last_price": "10.02", "market_value": "100200.00"},
            {"symbol": "510300.SH", "name": None, "quantity": 2000, "sellable_quantity": 2000,
             "avg_cost": "3.912", "last_price": "3.915", "market_value": "7830.00"},
        ]}))

    def test_positions_sold_out_today_are_left_out(self) -> None:
        COUNTER.positions = [XtPosition("1000000365", "600000.SH", 0, 0, 0.0, 0.0, 0.0)]
        self.assertEqual(self.call("GET", "/v1/positions"), (200, {"positions": []}))

    def test_none_from_xtquant_is_an_empty_book_only_when_the_account_answers(self) -> None:
        self.assertEqual(self.call("GET", "/v1/positions"), (200, {"positions": []}))
        COUNTER.asset = None
        self.assert_error(self.call("GET", "/v1/positions"), 503, "BRIDGE_NOT_READY", retryable=True)


class Reconnect(BridgeCase):
    def test_while_disconnected_health_says_so_and_orders_get_503_then_it_reconnects(self) -> None:
        COUNTER.reachable = False
        COUNTER.drop_connection()
        status, health = self.call("GET", "/v1/health")
        self.assertEqual((status, health["status"], health["connected"]), (200, "degraded", False))
        self.assert_error(self.sell(), 503, "BROKER_DISCONNECTED", retryable=True)
        self.assert_error(self.call("GET", "/v1/account"), 503, "BROKER_DISCONNECTED", retryable=True)
        self.assertEqual(COUNTER.order_calls, [])

        COUNTER.reachable = True
        assert self.bridge is not None
        self.assertTrue(self.bridge.session.wait_connected(2))
        self.assertEqual(self.call("GET", "/v1/health")[1]["connected"], True)
        # A new XtQuantTrader on a fresh session id: xtquant's connect() is one-shot.
        self.assertEqual(COUNTER.connects[0], 100)
        self.assertGreater(COUNTER.connects[-1], 100)
        self.assertIsNot(COUNTER.active, None)
        status, body = self.sell()
        self.assertEqual((status, body["status"]), (201, "submitted"))

    def test_reconnect_backs_off_instead_of_spinning(self) -> None:
        COUNTER.reachable = False
        COUNTER.drop_connection()
        time.sleep(0.3)
        # backoff is 0.05 s in tests: a spinning loop would make thousands of attempts
        self.assertLess(len(COUNTER.connects), 12)
