"""A FAKE xtquant for the bridge's tests: same module names, classes, signatures and constant
values as the real package (brokers.md §2), backed by an in-memory counter (fake_counter)."""
