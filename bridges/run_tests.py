#!/usr/bin/env python3
"""Runs every bridge's unittest suite (standard library only) and writes .reports/python.json."""
import json
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for name in sorted(os.listdir(ROOT)):
        tests = os.path.join(ROOT, name, "tests")
        if os.path.isdir(tests):
            suite.addTests(loader.discover(tests, top_level_dir=os.path.join(ROOT, name)))
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    out = os.path.join(ROOT, "..", ".reports")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "python.json"), "w") as fh:
        json.dump({"passed": passed, "failed": failed, "skipped": len(result.skipped)}, fh)
    print(f"python bridges: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
