# run_tests.py discovers every bridge's "tests" package in one process, and the first one imported
# would shadow the others; so this package spans every bridges/<name>/tests folder. Test module
# names therefore carry the bridge's name (test_qmt_*, test_ptrade_*).
import os as _os

_bridges = _os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
__path__ = sorted(
    _os.path.join(_bridges, name, "tests")
    for name in _os.listdir(_bridges)
    if _os.path.isfile(_os.path.join(_bridges, name, "tests", "__init__.py"))
)
