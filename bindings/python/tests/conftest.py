"""Shared fixtures for the Python binding tests.

The tests import the *generated* module `reach` (target/bindings/python/reach.py)
with `libreach.so` next to it. scripts/test-python.sh assembles that directory
(target/py by default) and puts it on PYTHONPATH; when running pytest by hand,
set REACH_PY_DIR or assemble target/py first.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
_PY_DIR = Path(os.environ.get("REACH_PY_DIR", REPO / "target" / "py"))
if _PY_DIR.is_dir() and str(_PY_DIR) not in sys.path:
    sys.path.insert(0, str(_PY_DIR))

try:
    import reach  # noqa: E402  (the generated uniffi module)
except ImportError as e:  # pragma: no cover - setup error, not a test failure
    raise pytest.UsageError(
        f"cannot import the generated module `reach` ({e}). Run scripts/test-python.sh, "
        f"or assemble reach.py + libreach.so in {_PY_DIR} (or set REACH_PY_DIR)."
    ) from e


def app_info() -> "reach.AppInfo":
    return reach.AppInfo(
        app_version="1.2.3",
        build="45",
        platform="linux",
        os_version="6.1",
        locale="zh-CN",
        timezone="Asia/Shanghai",
    )


def make_config(data_dir, **overrides) -> "reach.ReachConfig":
    kwargs = dict(
        data_dir=str(data_dir),
        app=app_info(),
        consent=reach.Consent.GRANTED,
        # flush()/close() wait at most this long. The 1 s default is meant for a phone's
        # main thread; a loaded CI machine must not turn a slow fsync into a failure.
        flush_timeout_ms=10_000,
    )
    kwargs.update(overrides)
    return reach.ReachConfig(**kwargs)


class CollectingSink(reach.LogSink):
    """A LogSink that keeps every line and the thread that delivered it."""

    def __init__(self):
        self._lock = threading.Lock()
        self.lines: list[tuple["reach.LogLevel", str, int, str]] = []

    def log(self, level, message):
        t = threading.current_thread()
        with self._lock:
            self.lines.append((level, message, threading.get_ident(), t.name))

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def messages(self, level=None):
        return [m for (lv, m, _, _) in self.snapshot() if level is None or lv == level]


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "reach-data"
    # Reach creates the directory itself; not creating it here checks that.
    return d


@pytest.fixture
def open_reach():
    """Factory: open_reach(data_dir, sink=None, **config_overrides) -> reach.Reach.

    Every instance it opened is closed at teardown (close() is idempotent), so a
    failing test never leaves a worker thread calling into Python at exit.
    """
    opened = []

    def _open(data_dir, sink=None, **overrides):
        r = reach.Reach(make_config(data_dir, **overrides), sink)
        opened.append(r)
        return r

    yield _open
    for r in opened:
        r.close()


# --- reading the database behind Reach's back --------------------------------------------------
# White-box checks for effects the public API cannot show (user properties,
# identities, event kinds). Only used on a closed instance, read-only.

KIND_TRACK, KIND_SCREEN, KIND_IDENTIFY = 0, 1, 2


def _connect(data_dir) -> sqlite3.Connection:
    path = Path(data_dir) / "reach.db"
    assert path.exists(), f"no database at {path}"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def db_events(data_dir):
    """Rows as dicts, in sequence order."""
    with _connect(data_dir) as conn:
        rows = conn.execute(
            """SELECT e.seq, e.kind, e.name, e.props, i.anonymous_id, i.user_id, s.session_id
               FROM events e
               LEFT JOIN identities i ON i.id = e.identity
               LEFT JOIN sessions s ON s.id = e.session
               ORDER BY e.seq"""
        ).fetchall()
    return [
        dict(seq=s, kind=k, name=n, props=json.loads(p), anonymous_id=a, user_id=u, session_id=sid)
        for (s, k, n, p, a, u, sid) in rows
    ]


def db_meta(data_dir, key):
    with _connect(data_dir) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def db_identity(data_dir):
    raw = db_meta(data_dir, "identity")
    return None if raw is None else json.loads(raw)


def db_user_properties(data_dir):
    raw = db_meta(data_dir, "user_properties")
    return {} if raw is None else json.loads(raw)
