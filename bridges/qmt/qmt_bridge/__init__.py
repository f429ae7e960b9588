"""SealGuard bridge v1 over xtquant's XtQuantTrader (QMT / miniQMT). See ../README.md."""

VERSION = "1.0.0"
