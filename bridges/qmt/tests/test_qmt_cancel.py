"""POST /v1/orders/{id}/cancel: the outcome is read back from QMT, never assumed.

The fake counter follows xtquant's documented cancel behaviour (see fake_counter.py's docstring):
cancel_order_stock 0 = request sent, -1 = failed (old builds: 委托已完成撤单失败), -2 (old builds:
no such order, or their internal 5 s wait expired), -3 (old builds: 账号未登陆); a sent cancel
shows 51 已报待撤 / 52 部成待撤, then 54 ORDER_CANCELED or 53 ORDER_PART_CANCEL through
on_stock_order, or on_cancel_error(XtCancelError) when the counter refuses it.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from tests.qmt_harness import ACCOUNT, NOW, SELL, BridgeCase, COUNTER
from xtquant import xttrader

CID = SELL["client_order_id"]


class Confirmed(BridgeCase):
    def test_a_cancel_the_counter_confirms_answers_200_with_the_cancelled_order(self) -> None:
        self.sell()
        status, order = self.cancel(CID)
        self.assertEqual(status, 200, order)
        self.assertEqual((order["status"], order["broker_status"], order["filled_quantity"]),
                         ("cancelled", "54", 0))
        self.assertEqual(order["cancel"], {"state": "done", "requested_at": "2026-11-24T10:01:02+08:00",
                                           "attempts": 1})
        self.assertEqual(COUNTER.cancel_calls, [1001])

    def test_a_partly_filled_order_answers_partially_cancelled_with_the_filled_quantity(self) -> None:
        self.sell()
        COUNTER.fill(1001, 4000, 10.02)
        status, order = self.cancel("1001")  # by QMT's order id this time
        self.assertEqual(status, 200, order)
        self.assertEqual((order["client_order_id"], order["status"], order["broker_status"],
                          order["filled_quantity"], order["avg_fill_price"]),
                         (CID, "partially_cancelled", "53", 4000, "10.02"))

    def test_an_order_already_final_is_answered_with_its_final_state_without_a_cancel(self) -> None:
        self.sell()
        COUNTER.fill(1001, 10000, 10.02)
        status, order = self.cancel(CID)
        self.assertEqual((status, order["status"], order["filled_quantity"]), (200, "filled", 10000))
        self.assertNotIn("cancel", order)
        self.assertEqual(COUNTER.cancel_calls, [])

    def test_cancelling_an_order_qmt_does_not_have_is_404(self) -> None:
        self.assert_error(self.cancel("9999"), 404, "ORDER_NOT_FOUND")


class Pending(BridgeCase):
    cancel_wait = 0.3

    def prepare_counter(self) -> None:
        COUNTER.cancel_confirm_after = None  # the counter sits on it

    def test_without_a_confirmation_in_time_it_is_202_pending_and_get_shows_the_outcome(self) -> None:
        self.sell()
        status, order = self.cancel(CID)
        self.assertEqual(status, 202, order)
        self.assertEqual((order["status"], order["broker_status"], order["cancel"]["state"]),
                         ("pending_cancel", "51", "pending"))
        COUNTER.confirm_cancel(1001)
        order = self.call("GET", f"/v1/orders/{CID}")[1]
        self.assertEqual((order["status"], order["filled_quantity"], order["cancel"]["state"]),
                         ("cancelled", 0, "done"))

    def test_a_fill_while_the_cancel_is_pending_ends_partially_cancelled(self) -> None:
        self.sell()
        self.assertEqual(self.cancel(CID)[0], 202)
        COUNTER.fill(1001, 3000, 10.02)  # 52 部成待撤
        self.assertEqual(self.call("GET", f"/v1/orders/{CID}")[1]["broker_status"], "52")
        COUNTER.confirm_cancel(1001)
        order = self.call("GET", f"/v1/orders/{CID}")[1]
        self.assertEqual((order["status"], order["filled_quantity"]), ("partially_cancelled", 3000))

    def test_a_repeat_cancel_while_the_first_is_at_the_counter_sends_nothing(self) -> None:
        self.sell()
        self.assertEqual(self.cancel(CID)[0], 202)
        status, order = self.cancel("1001")
        self.assertEqual((status, order["status"], order["cancel"]["attempts"]), (202, "pending_cancel", 1))
        self.assertEqual(COUNTER.cancel_calls, [1001])

    def test_two_cancels_at_once_send_one_cancel_to_the_counter(self) -> None:
        self.sell()
        COUNTER.cancel_gate = threading.Event()
        replies: list[tuple[int, Any]] = []
        workers = [threading.Thread(target=lambda ref=ref: replies.append(self.cancel(ref)))
                   for ref in (CID, "1001")]
        for worker in workers:
            worker.start()
        self.wait_for(lambda: len(COUNTER.cancel_calls) == 1)
        time.sleep(0.1)  # the second request is being answered meanwhile
        COUNTER.cancel_gate.set()
        for worker in workers:
            worker.join(5)
        self.assertEqual(sorted(r[0] for r in replies), [202, 202])
        self.assertEqual(COUNTER.cancel_calls, [1001])
        self.assertEqual(self.call("GET", f"/v1/orders/{CID}")[1]["cancel"]["attempts"], 1)


class AlreadyFinalAtTheCounter(BridgeCase):
    """The order fills between the bridge's look at it and the counter's handling of the cancel."""

    def _fill_during_the_cancel(self) -> tuple[int, Any]:
        self.sell()
        COUNTER.cancel_gate = threading.Event()
        reply: list[tuple[int, Any]] = []
        worker = threading.Thread(target=lambda: reply.append(self.cancel(CID)))
        worker.start()
        self.wait_for(lambda: COUNTER.cancel_calls == [1001])
        COUNTER.fill(1001, 10000, 10.02)
        COUNTER.cancel_gate.set()
        worker.join(5)
        return reply[0]

    def test_minus_one_because_the_order_filled_returns_the_filled_order_not_an_error(self) -> None:
        status, order = self._fill_during_the_cancel()
        self.assertEqual((status, order["status"], order["filled_quantity"], order["avg_fill_price"]),
                         (200, "filled", 10000, "10.02"), order)

    def test_a_cancel_error_push_for_a_filled_order_returns_the_filled_order(self) -> None:
        COUNTER.cancel_final_answer = "error_push"  # 0, then on_cancel_error
        status, order = self._fill_during_the_cancel()
        self.assertEqual((status, order["status"], order["filled_quantity"]), (200, "filled", 10000), order)


class Refused(BridgeCase):
    def test_a_refused_cancel_on_a_live_order_is_422_with_the_order_and_may_be_sent_again(self) -> None:
        self.sell()
        COUNTER.refuse_cancel = (-1, "当前时间不允许撤单")
        reply = self.cancel(CID)
        self.assert_error(reply, 422, "BROKER_REJECTED")
        self.assertIn("当前时间不允许撤单", reply[1]["error"]["message"])
        self.assertEqual((reply[1]["order"]["status"], reply[1]["order"]["cancel"]["state"]),
                         ("submitted", "refused"))
        COUNTER.refuse_cancel = None
        status, order = self.cancel(CID)
        self.assertEqual((status, order["status"], order["cancel"]["attempts"]), (200, "cancelled", 2))
        self.assertEqual(COUNTER.cancel_calls, [1001, 1001])


class TimedOut(BridgeCase):
    deadline = 0.3
    cancel_wait = 0.3

    def test_a_cancel_call_that_outlives_its_deadline_is_unknown_and_reconciled_by_query(self) -> None:
        self.sell()
        COUNTER.cancel_gate = threading.Event()  # current builds wait on future.result() for ever
        status, order = self.cancel(CID)
        self.assertEqual((status, order["status"], order["cancel"]["state"]), (202, "submitted", "unknown"))
        # Still running in xtquant: a repeat is not sent.
        self.assertEqual(self.cancel(CID)[0], 202)
        self.assertEqual(COUNTER.cancel_calls, [1001])
        COUNTER.cancel_gate.set()  # the request reaches the counter after all; it confirms
        self.wait_for(lambda: self.call("GET", f"/v1/orders/{CID}")[1]["status"] == "cancelled")
        self.assertEqual(self.call("GET", f"/v1/orders/{CID}")[1]["cancel"]["state"], "done")
        self.assertEqual(COUNTER.cancel_calls, [1001])

    def test_the_timed_out_cancel_is_unknown_once_the_call_is_no_longer_running(self) -> None:
        self.sell()
        COUNTER.cancel_gate = threading.Event()
        self.assertEqual(self.cancel(CID)[0], 202)
        self.stop_bridge()  # dies while xtquant holds the cancel
        self.start_bridge(session_id=500)
        order = self.call("GET", f"/v1/orders/{CID}")[1]
        self.assertEqual((order["status"], order["cancel"]["state"]), ("submitted", "unknown"))
        self.assertIn("did not answer", order["cancel"]["message"])


class Restart(BridgeCase):
    cancel_wait = 0.3

    def prepare_counter(self) -> None:
        COUNTER.cancel_confirm_after = None

    def test_after_a_restart_between_cancel_and_confirmation_get_reports_the_true_state(self) -> None:
        self.sell()
        self.assertEqual(self.cancel(CID)[0], 202)
        self.stop_bridge()
        COUNTER.confirm_cancel(1001)  # the counter confirms while the bridge is down
        self.start_bridge(session_id=600)
        order = self.call("GET", f"/v1/orders/{CID}")[1]
        self.assertEqual((order["status"], order["broker_status"], order["filled_quantity"],
                          order["cancel"]["state"]), ("cancelled", "54", 0, "done"))
        self.assertEqual(self.cancel(CID)[0], 200)
        self.assertEqual(COUNTER.cancel_calls, [1001])

    def test_a_cancel_the_bridge_died_sending_blocks_a_second_one_until_the_retry_window(self) -> None:
        self.sell()
        assert self.bridge is not None
        self.bridge.store.begin_cancel(ACCOUNT, "2026-11-24", "1001", NOW)  # fsynced, then the crash
        self.stop_bridge()
        self.start_bridge(session_id=700)
        self.assertEqual(self.call("GET", f"/v1/orders/{CID}")[1]["cancel"]["state"], "unknown")
        status, order = self.cancel(CID)
        self.assertEqual((status, order["status"], order["cancel"]["state"]), (202, "submitted", "unknown"))
        self.assertEqual(COUNTER.cancel_calls, [])


class RetryWindow(BridgeCase):
    cancel_retry_after = 5.0

    def test_an_old_attempt_that_left_the_order_untouched_may_be_sent_again(self) -> None:
        self.sell()
        assert self.bridge is not None
        self.bridge.store.begin_cancel(ACCOUNT, "2026-11-24", "1001", NOW - 10)
        self.bridge.store.settle_cancel(ACCOUNT, "2026-11-24", "1001", "sent", NOW - 10)
        status, order = self.cancel(CID)  # the order is still 50 已报: that request got lost
        self.assertEqual((status, order["status"], order["cancel"]["attempts"]), (200, "cancelled", 2))
        self.assertEqual(COUNTER.cancel_calls, [1001])


class OldBuildCancels(BridgeCase):
    """The pre-mid-2022 xttrader.py (ai4trade/XtQuant@4b167d3)."""

    def setUp(self) -> None:
        self._current = xttrader.XtQuantTrader
        xttrader.XtQuantTrader = xttrader.LegacyXtQuantTrader  # type: ignore[misc]
        self._wait = xttrader.LegacyXtQuantTrader.ORDER_WAIT
        xttrader.LegacyXtQuantTrader.ORDER_WAIT = 0.05
        with self.assertLogs("qmt_bridge.session", "WARNING"):
            super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        xttrader.XtQuantTrader = self._current  # type: ignore[misc]
        xttrader.LegacyXtQuantTrader.ORDER_WAIT = self._wait

    def test_minus_two_after_the_internal_wait_is_unknown_until_the_order_tells(self) -> None:
        self.sell()
        COUNTER.lose_cancel_ack = True
        COUNTER.cancel_confirm_after = None
        status, order = self.cancel(CID)
        self.assertEqual((status, order["status"], order["cancel"]["state"]), (202, "pending_cancel", "unknown"))
        self.assertIn("-2", order["cancel"]["message"])
        COUNTER.confirm_cancel(1001)
        order = self.call("GET", f"/v1/orders/{CID}")[1]
        self.assertEqual((order["status"], order["cancel"]["state"]), ("cancelled", "done"))
        self.assertEqual(COUNTER.cancel_calls, [1001])

    def test_minus_one_for_an_order_that_completed_returns_it(self) -> None:
        self.sell()
        COUNTER.cancel_gate = threading.Event()
        reply: list[tuple[int, Any]] = []
        worker = threading.Thread(target=lambda: reply.append(self.cancel(CID)))
        worker.start()
        self.wait_for(lambda: COUNTER.cancel_calls == [1001])
        COUNTER.fill(1001, 10000, 10.02)
        COUNTER.cancel_gate.set()
        worker.join(5)
        self.assertEqual((reply[0][0], reply[0][1]["status"]), (200, "filled"))
