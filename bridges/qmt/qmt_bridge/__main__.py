"""python -m qmt_bridge --qmt-path ... --account ... (token in SEALGUARD_BRIDGE_TOKEN)."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any, Optional, Sequence

from .config import parse_config
from .server import Bridge
from .wire import mask_account

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = parse_config(argv)
    log = logging.getLogger("qmt_bridge")
    if config.host not in LOOPBACK:
        log.warning("listening on %s: allow only your SealGuard host through the firewall", config.host)
    if len(config.token) < 24:
        log.warning("the bearer token is short; use at least 24 random characters")
    bridge = Bridge(config)
    bridge.start()
    log.info("bridge for account %s on http://%s:%d/v1", mask_account(config.account), config.host, bridge.port)
    done = threading.Event()

    def stop(*_: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not done.wait(1.0):  # a timed wait so Ctrl+C is seen on Windows too
        pass
    bridge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
