"""Real xtquant builds: -2 from order_stock, the pre-mid-2022 query_stock_orders, hung calls.

The fakes follow xtquant/xttrader.py as published: the old build (ai4trade/XtQuant@4b167d3,
order_stock -> asyncio.wait_for(future, 5) -> -2; query_stock_orders(self, account)) and the
current one (common_op_sync_with_seq waits on future.result() with no timeout). See
fake_xtquant/xtquant/xttrader.py.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.qmt_harness import ACCOUNT, SELL, BridgeCase, COUNTER
from qmt_bridge.wire import parse_sell_order
from xtquant import xttrader

CID = SELL["client_order_id"]


class OldBuild(BridgeCase):
    """The bridge started on a pre-mid-2022 xtquant."""

    def setUp(self) -> None:
        self._current = xttrader.XtQuantTrader
        xttrader.XtQuantTrader = xttrader.LegacyXtQuantTrader  # type: ignore[misc]
        self._wait = xttrader.LegacyXtQuantTrader.ORDER_WAIT
        xttrader.LegacyXtQuantTrader.ORDER_WAIT = 0.05
        with self.assertLogs("qmt_bridge.session", "WARNING") as logs:
            super().setUp()
        self.start_logs = "\n".join(logs.output)

    def tearDown(self) -> None:
        super().tearDown()
        xttrader.XtQuantTrader = self._current  # type: ignore[misc]
        xttrader.LegacyXtQuantTrader.ORDER_WAIT = self._wait

    def wait_for(self, predicate: object, seconds: float = 3.0) -> None:
        deadline = time.time() + seconds
        while not predicate():  # type: ignore[operator]
            self.assertLess(time.time(), deadline, "condition not reached")
            time.sleep(0.02)


class MinusTwoIsOutcomeUnknown(OldBuild):
    def test_minus_two_answers_504_then_get_finds_the_order_by_remark_and_nothing_is_resent(self) -> None:
        COUNTER.lose_ack = True
        self.assert_error(self.sell(), 504, "OUTCOME_UNKNOWN")
        self.assertEqual(len(COUNTER.order_calls), 1)
        status, order = self.call("GET", f"/v1/orders/{CID}")
        self.assertEqual((status, order["client_order_id"], order["broker_order_id"], order["status"]),
                         (200, CID, "1001", "submitted"))
        COUNTER.lose_ack = False
        self.assertEqual(self.sell(), (200, {
            "client_order_id": CID, "broker_order_id": "1001", "status": "submitted", "replayed": True,
        }))
        self.assertEqual(len(COUNTER.order_calls), 1)

    def test_an_order_that_lands_late_is_unknown_until_seen_and_a_repeat_post_never_resends(self) -> None:
        COUNTER.lose_ack = True
        COUNTER.land_after = 1.0
        self.assert_error(self.sell(), 504, "OUTCOME_UNKNOWN")
        status, order = self.call("GET", f"/v1/orders/{CID}")
        self.assertEqual((status, order["status"], order["broker_order_id"]), (200, "unknown", None))
        self.assertIn("never sends it again", order["message"])
        COUNTER.lose_ack = False  # even a counter that would now answer must not get it twice
        reply = self.sell()
        self.assert_error(reply, 504, "OUTCOME_UNKNOWN")
        self.assertIn("never sent twice", reply[1]["error"]["message"])
        self.assertEqual(len(COUNTER.order_calls), 1)

        self.wait_for(lambda: self.call("GET", f"/v1/orders/{CID}")[1]["status"] == "submitted")
        self.assertEqual(self.sell()[1]["broker_order_id"], "1001")
        self.assertEqual(len(COUNTER.order_calls), 1)
        self.assertEqual(len(COUNTER.orders), 1)

    def test_minus_one_is_a_rejection(self) -> None:
        COUNTER.refuse = True
        reply = self.sell()
        self.assert_error(reply, 422, "BROKER_REJECTED")
        self.assertIn("returned -1", reply[1]["error"]["message"])
        self.assertEqual(self.call("GET", f"/v1/orders/{CID}")[1]["status"], "rejected")

    def test_an_unknown_id_left_by_a_restart_is_adopted_at_start_up(self) -> None:
        assert self.bridge is not None
        sell = parse_sell_order(SELL, CID)
        self.bridge.store.insert_pending(ACCOUNT, "2026-11-24", CID, sell.fingerprint(), CID, 0.0)
        self.bridge.store.settle(ACCOUNT, "2026-11-24", CID, "unknown", 0.0)
        self.stop_bridge()
        COUNTER.add_order("002116.SZ", 10000, 10.02, CID)
        self.start_bridge(session_id=300)
        self.wait_for(lambda: self.bridge is not None
                      and self.bridge.store.get(ACCOUNT, "2026-11-24", CID).state == "placed")  # type: ignore[union-attr]
        self.assertEqual(COUNTER.order_calls, [])


class OldQueryStockOrders(OldBuild):
    def test_start_up_says_which_xtquant_is_needed_in_the_log_and_on_health(self) -> None:
        self.assertIn("mid-2022", self.start_logs)
        self.assertIn("cancelable_only", self.start_logs)
        status, health = self.call("GET", "/v1/health")
        self.assertEqual((status, health["status"], health["connected"]), (200, "ok", True))
        self.assertEqual(len(health["warnings"]), 2)
        self.assertIn("mid-2022", health["warnings"][0])
        self.assertIn("query_stock_orders(account, cancelable_only=False)", health["warnings"][0])
        # Nor can it list the logged-in accounts, so the account type goes unchecked, and says so.
        self.assertIn("no query_account_infos", health["warnings"][1])

    def test_orders_still_list_and_reconcile_with_the_one_argument_query(self) -> None:
        self.assertEqual(self.sell()[0], 201)
        status, listing = self.call("GET", "/v1/orders")
        self.assertEqual((status, [o["client_order_id"] for o in listing["orders"]]), (200, [CID]))
        self.assertEqual(self.call("GET", "/v1/orders/1001")[1]["status"], "submitted")


class CurrentBuildHasNoWarning(BridgeCase):
    def test_health_has_no_warnings_on_a_current_build(self) -> None:
        self.assertNotIn("warnings", self.call("GET", "/v1/health")[1])


class HungCalls(BridgeCase):
    deadline = 0.3
    stuck_after = 0.2

    def test_a_hung_query_times_out_shares_one_worker_and_the_rest_is_still_answered(self) -> None:
        COUNTER.hang["query_stock_positions"] = threading.Event()
        with ThreadPoolExecutor(12) as pool:
            replies = list(pool.map(lambda _: self.call("GET", "/v1/positions"), range(12)))
        for reply in replies:
            self.assert_error(reply, 503, "BRIDGE_NOT_READY", retryable=True)
        self.assertEqual(COUNTER.query_calls["query_stock_positions"], 1)  # one worker, not twelve
        self.assertEqual(self.call("GET", "/v1/account")[0], 200)
        self.assertEqual(self.sell()[0], 201)
        warnings = self.call("GET", "/v1/health")[1]["warnings"]
        self.assertIn("query_stock_positions", warnings[0])

        COUNTER.hang.pop("query_stock_positions").set()
        deadline = time.time() + 2
        while self.call("GET", "/v1/positions")[0] != 200:
            self.assertLess(time.time(), deadline)
            time.sleep(0.02)
        self.assertNotIn("warnings", self.call("GET", "/v1/health")[1])

    def test_when_every_query_worker_is_hung_queries_fail_fast_and_sells_still_go_through(self) -> None:
        COUNTER.hang["query_stock_order"] = threading.Event()
        with ThreadPoolExecutor(6) as pool:  # six different order ids: six workers held
            list(pool.map(lambda n: self.call("GET", f"/v1/orders/{9000 + n}"), range(6)))
        time.sleep(self.stuck_after)
        started = time.monotonic()
        self.assert_error(self.call("GET", "/v1/account"), 503, "BRIDGE_NOT_READY", retryable=True)
        self.assertLess(time.monotonic() - started, self.deadline)  # refused at once, not queued
        self.assertEqual(self.sell()[0], 201)


class HungCallsAndReconnect(BridgeCase):
    deadline = 0.3
    stuck_after = 0.2

    def test_after_a_reconnect_queries_get_fresh_workers_instead_of_queueing_behind_hung_ones(self) -> None:
        COUNTER.hang["query_stock_order"] = threading.Event()
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda n: self.call("GET", f"/v1/orders/{9000 + n}"), range(6)))
        time.sleep(self.stuck_after)
        self.assert_error(self.call("GET", "/v1/account"), 503, "BRIDGE_NOT_READY", retryable=True)
        COUNTER.drop_connection()  # miniQMT restarts; the six calls stay stuck on the old trader
        assert self.bridge is not None
        deadline = time.time() + 3
        while not (self.bridge.session.connected and COUNTER.active is not None):
            self.assertLess(time.time(), deadline)
            time.sleep(0.02)
        self.assertEqual(self.call("GET", "/v1/account")[0], 200)


class HungOrderAcrossRestart(BridgeCase):
    deadline = 0.2

    def test_an_order_stock_that_outlived_its_deadline_is_never_resent_after_a_restart(self) -> None:
        COUNTER.gate = threading.Event()  # current builds: order_stock blocks with no timeout
        self.assert_error(self.sell(), 504, "OUTCOME_UNKNOWN")
        self.stop_bridge()  # the process dies while xtquant still holds the request
        self.start_bridge(session_id=400)
        reply = self.sell()
        self.assert_error(reply, 504, "OUTCOME_UNKNOWN")
        self.assertEqual(len(COUNTER.order_calls), 1)
        self.assertEqual(self.call("GET", f"/v1/orders/{CID}")[1]["status"], "unknown")
        COUNTER.add_order("002116.SZ", 10000, 10.02, CID)  # the first request reached the counter
        self.assertEqual(self.call("GET", f"/v1/orders/{CID}")[1]["status"], "submitted")
        self.assertEqual(self.sell()[0], 200)
        self.assertEqual(len(COUNTER.order_calls), 1)


class HiddenSignature(BridgeCase):
    def test_an_old_build_whose_signature_cannot_be_read_is_found_out_by_its_first_query(self) -> None:
        assert self.bridge is not None
        self.bridge.session.caps = type(self.bridge.session.caps)()  # what detect() assumes then

        class Old:
            def query_stock_orders(self, account: object) -> list[object]:
                return []

        with self.assertLogs("qmt_bridge.session", "WARNING"):
            self.assertEqual(self.bridge.session.list_orders(Old(), object()), [])
        self.assertTrue(self.bridge.session.caps.legacy)
        self.assertIn("mid-2022", self.call("GET", "/v1/health")[1]["warnings"][0])
