"""Command line and environment."""
from __future__ import annotations

import contextlib
import io
import unittest

from tests import qmt_harness  # noqa: F401  (puts the fake xtquant on sys.path)
from qmt_bridge.config import parse_config


class Config(unittest.TestCase):
    def test_defaults_bind_loopback_on_8765_and_the_token_may_come_from_the_environment(self) -> None:
        config = parse_config(["--qmt-path", r"D:\QMT\userdata_mini", "--account", "1000000365"],
                              env={"SEALGUARD_BRIDGE_TOKEN": "from-env-token"})
        self.assertEqual((config.host, config.port, config.token, config.session_id, config.deadline),
                         ("127.0.0.1", 8765, "from-env-token", 561203, 5.0))

    def test_a_missing_token_path_or_account_stops_start_up_naming_them(self) -> None:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit) as stopped:
            parse_config([], env={})
        self.assertEqual(stopped.exception.code, 2)
        self.assertIn("missing --token, --qmt-path, --account", stderr.getvalue())

    def test_quotes_are_on_by_default_and_keepalive_is_held_to_the_protocols_5_seconds(self) -> None:
        base = ["--qmt-path", r"D:\QMT\userdata_mini", "--account", "1000000365"]
        env = {"SEALGUARD_BRIDGE_TOKEN": "from-env-token"}
        config = parse_config(base, env=env)
        self.assertEqual((config.quotes, config.keepalive, config.stuck_after), (True, 3.0, 10.0))
        self.assertFalse(parse_config(base + ["--no-quotes"], env=env).quotes)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit):
            parse_config(base + ["--keepalive", "6"], env=env)
        self.assertIn("at most 5 seconds", stderr.getvalue())

    def test_the_account_type_is_stock_unless_credit_is_asked_for(self) -> None:
        base = ["--qmt-path", r"D:\QMT\userdata_mini", "--account", "1000000365"]
        env = {"SEALGUARD_BRIDGE_TOKEN": "from-env-token"}
        self.assertEqual(parse_config(base, env=env).account_type, "stock")
        self.assertEqual(parse_config(base + ["--account-type", "credit"], env=env).account_type, "credit")
        self.assertEqual(parse_config(base, env={**env, "QMT_ACCOUNT_TYPE": "CREDIT"}).account_type, "credit")
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit):
            parse_config(base + ["--account-type", "margin"], env=env)
        self.assertIn("--account-type must be stock or credit", stderr.getvalue())

    def test_cancel_timing_defaults(self) -> None:
        config = parse_config(["--qmt-path", r"D:\QMT\userdata_mini", "--account", "1000000365"],
                              env={"SEALGUARD_BRIDGE_TOKEN": "from-env-token"})
        self.assertEqual((config.cancel_wait, config.cancel_retry_after), (2.0, 30.0))
