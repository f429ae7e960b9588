"""The pure pieces of the quote stream: tick normalization (ticks.py) and the mailbox."""
from __future__ import annotations

import threading
import unittest

from tests import qmt_harness  # noqa: F401  (puts the fake xtquant on sys.path)
from qmt_bridge.quotes import Mailbox, frames
from qmt_bridge.ticks import exchange_time, limits_of, measured_lot, status_of
from xtquant.fake_market import detail, tick


class Ticks(unittest.TestCase):
    def test_exchange_time_prefers_timetag_and_falls_back_to_the_epoch_in_shanghai(self) -> None:
        self.assertEqual(exchange_time({"timetag": "20261124 14:56:59", "time": 0}), "2026-11-24T14:56:59+08:00")
        # 2026-11-24 02:01:03 UTC is 10:01:03 in Shanghai, whatever the host's zone
        self.assertEqual(exchange_time({"time": 1795485663000}), "2026-11-24T10:01:03+08:00")
        self.assertIsNone(exchange_time({"timetag": "garbage"}))

    def test_the_lot_is_measured_from_pvolume_or_from_turnover(self) -> None:
        self.assertEqual(measured_lot({"volume": 198242, "pvolume": 19824156})[0], 100)  # a real tick's pair
        self.assertEqual(measured_lot({"volume": 52000000, "pvolume": 52000000})[0], 1)
        self.assertEqual(measured_lot({"volume": 153200, "amount": 151668000.0, "lastPrice": 10.02})[0], 100)
        self.assertEqual(measured_lot({"volume": 0, "pvolume": 0}), (None, "no volume yet"))

    def test_status_from_open_int(self) -> None:
        self.assertEqual([status_of(n) for n in (13, 1, 16, 17, 20, 11, 15, 0, None)],
                         ["normal", "suspended", "suspended", "suspended", "suspended", "normal", "normal",
                          "normal", "normal"])

    def test_limits_are_trusted_only_with_todays_pre_close_and_zero_means_none(self) -> None:
        today = tick(10.02, 9.11, [], [], 0, 0.0)
        self.assertEqual(limits_of("002116.SZ", today, detail("x", 9.11, 10.02, 8.2)), ("10.02", "8.20", None))
        self.assertEqual(limits_of("002116.SZ", today, detail("x", 9.11, 0.0, 0.0)), (None, None, None))
        up, down, problem = limits_of("002116.SZ", today, detail("x", 8.28, 9.11, 7.45))
        self.assertEqual((up, down), (None, None))
        self.assertIn("PreClose 8.28", problem or "")


class MailboxTest(unittest.TestCase):
    def test_only_the_newest_event_per_symbol_waits_and_order_of_first_arrival_is_kept(self) -> None:
        box = Mailbox()
        for version in range(1, 1001):
            box.put("002116.SZ", version, {"v": version})
        box.put("600519.SH", 1001, {"v": "m"})
        box.put("002116.SZ", 5, {"v": "old"})  # an older version never overtakes
        self.assertEqual(box.take(0), [{"v": 1000}, {"v": "m"}])
        self.assertEqual((box.high_water, box.replaced), (2, 999))
        box.put("002116.SZ", 999, {"v": "taken already"})
        self.assertEqual(box.take(0), [])

    def test_take_waits_for_an_event_and_close_ends_it(self) -> None:
        box = Mailbox()
        threading.Timer(0.05, lambda: box.put("002116.SZ", 1, {"v": 1})).start()
        self.assertEqual(box.take(2), [{"v": 1}])
        threading.Timer(0.05, lambda: box.close("行情服务连接断开")).start()
        self.assertIsNone(box.take(2))
        self.assertEqual(box.reason, "行情服务连接断开")

    def test_frames_number_events_and_carry_seq_in_the_json(self) -> None:
        data, seq = frames([{"symbol": "002116.SZ"}, {"symbol": "600519.SH"}], 7)
        self.assertEqual(seq, 9)
        self.assertEqual(data.decode(), 'id: 7\ndata: {"symbol":"002116.SZ","seq":7}\n\n'
                                       'id: 8\ndata: {"symbol":"600519.SH","seq":8}\n\n')
