"""Pure mappings: QMT status codes, remarks, prices and masking."""
from __future__ import annotations

import unittest

from tests import qmt_harness  # noqa: F401  (puts the fake xtquant on sys.path)
from qmt_bridge.wire import decimal_string, mask_account, price_places, remark_for, status_of
from xtquant import xtconstant


class StatusMapping(unittest.TestCase):
    def test_every_qmt_order_status_maps_as_brokers_md_6_5_says(self) -> None:
        table = {
            xtconstant.ORDER_UNREPORTED: "pending_new",
            xtconstant.ORDER_WAIT_REPORTING: "pending_new",
            xtconstant.ORDER_REPORTED: "submitted",
            xtconstant.ORDER_REPORTED_CANCEL: "pending_cancel",
            xtconstant.ORDER_PARTSUCC_CANCEL: "pending_cancel",
            xtconstant.ORDER_PART_CANCEL: "partially_cancelled",
            xtconstant.ORDER_CANCELED: "cancelled",
            xtconstant.ORDER_PART_SUCC: "partially_filled",
            xtconstant.ORDER_SUCCEEDED: "filled",
            xtconstant.ORDER_JUNK: "rejected",
            xtconstant.ORDER_UNKNOWN: "unknown",
            99: "unknown",
        }
        self.assertEqual({code: status_of(code) for code in table}, table)
        self.assertEqual(
            [xtconstant.ORDER_UNREPORTED, xtconstant.ORDER_JUNK, xtconstant.ORDER_UNKNOWN], [48, 57, 255]
        )


class Remarks(unittest.TestCase):
    def test_ids_up_to_24_characters_are_the_remark_itself(self) -> None:
        self.assertEqual(remark_for("sg20261124a1b2c3"), "sg20261124a1b2c3")
        self.assertEqual(remark_for("a" * 24), "a" * 24)

    def test_longer_ids_become_a_stable_24_character_hash(self) -> None:
        remark = remark_for("a" * 25)
        self.assertEqual(len(remark), 24)
        self.assertEqual(remark, remark_for("a" * 25))
        self.assertNotEqual(remark, remark_for("a" * 26))


class Numbers(unittest.TestCase):
    def test_prices_carry_the_instruments_tick_precision(self) -> None:
        self.assertEqual([price_places(s) for s in ("600000.SH", "510300.SH", "159915.SZ", "920118.BJ")],
                         [2, 3, 3, 2])
        self.assertEqual(decimal_string(10.02, 2), "10.02")
        self.assertEqual(decimal_string(0.1 + 0.2, 2), "0.30")
        self.assertEqual(decimal_string(None, 2), None)

    def test_account_ids_are_masked_to_the_last_four_digits(self) -> None:
        self.assertEqual(mask_account("1000000365"), "****0365")
