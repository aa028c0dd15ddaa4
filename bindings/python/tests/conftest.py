"""Shared fixtures for the Python binding tests.

The tests import the *generated* module `reach` (target/bindings/python/reach.py)
with `libreach.so` next to it. scripts/test-python.sh assembles that directory
(target/py by default) and puts it on PYTHONPATH; when running pytest by hand,
set REACH_PY_DIR or assemble target/py first.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import sys
import threading
import time
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


def presenter_threads():
    """Ids of this process's `reach-presenter` threads (Linux: read from /proc)."""
    try:
        tasks = os.listdir("/proc/self/task")
    except FileNotFoundError:  # pragma: no cover - not Linux
        return []
    found = []
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "reach-presenter":
                    found.append(int(tid))
        except OSError:  # the thread ended meanwhile
            pass
    return found


def wait_for(condition, what, timeout=5.0):
    """Polls `condition` until it is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


# --- rule packs and popups ---------------------------------------------------------------------

# Scenario 01, the same file the Rust scenario tests use: one lottery popup per new member.
LOTTERY_PACK = (REPO / "tests" / "fixtures" / "packs" / "01-registration-lottery.json").read_text()


def lottery_pack(**frequency) -> str:
    """The scenario-01 pack with its frequency rules changed (e.g. max_total=2)."""
    pack = json.loads(LOTTERY_PACK)
    pack["campaigns"][0]["frequency"].update(frequency)
    return json.dumps(pack)


def invalid_lottery_pack() -> str:
    """The scenario-01 pack with an unknown operator, refused at INVALID_PACK_PATH."""
    pack = json.loads(LOTTERY_PACK)
    pack["campaigns"][0]["trigger"]["where"] = [{"prop": "method", "op": "gtx", "value": 1}]
    return json.dumps(pack)


INVALID_PACK_PATH = "campaigns[0].trigger.where[0].op"


class RecordingPresenter(reach.PopupPresenter):
    """A PopupPresenter that keeps every popup with the thread it arrived on, and answers with
    the given decisions in order, then SHOW_NOW."""

    def __init__(self, *answers):
        self._lock = threading.Lock()
        self._answers = list(answers)
        self._offers = queue.Queue()
        self.calls = 0

    def offer(self, popup):
        with self._lock:
            answer = self._answers.pop(0) if self._answers else reach.PresenterDecision.SHOW_NOW()
            self.calls += 1
        self._offers.put((popup, threading.get_ident(), threading.current_thread().name))
        return answer

    def next(self, what="a popup", timeout=5.0):
        """(popup, thread id, thread name) of the next offer; fails after `timeout` seconds."""
        try:
            return self._offers.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")

    def poll(self, timeout):
        """The next popup if one arrives within `timeout` seconds, else None."""
        try:
            return self._offers.get(timeout=timeout)[0]
        except queue.Empty:
            return None


# --- prize claims, explain() and holdouts (rule pack format 1.1) ------------------------------

# Scenario 06 (tests/fixtures/packs/06-prize-inventory.json): a prize claimed before the popup is
# shown, one per person, nothing shown when the claim gets no answer.
PRIZE_PACK = (REPO / "tests" / "fixtures" / "packs" / "06-prize-inventory.json").read_text()
PRIZE_CAMPAIGN = "golden-week-gift"

# A trigger with a property condition: `purchase` with `amount > 100`.
BIG_SPENDER_PACK = json.dumps({
    "format": "1.1",
    "campaigns": [{
        "id": "big-spender",
        "trigger": {"event": "purchase", "where": [{"prop": "amount", "op": "gt", "value": 100}]},
        "popup": {"template": "banner", "title": "Thank you!"},
    }],
})

# A holdout where everyone is in the control arm: the only arm with weight > 0 is `control`.
HOLDOUT_PACK = json.dumps({
    "format": "1.1",
    "campaigns": [{
        "id": "vip-upsell",
        "trigger": {"event": "view_item"},
        "variants": [
            {"id": "treatment", "weight": 0},
            {"id": "control", "weight": 1, "control": True},
        ],
        "popup": {"template": "modal", "title": "Become a VIP"},
    }],
})


class StockClaimClient(reach.ClaimClient):
    """A ClaimClient written in Python, as a host writes one over its backend: a stock of
    `prizes`, at most one per idempotency key; keeps every claim and release with the thread it
    arrived on. A released key returns its prize."""

    def __init__(self, prizes):
        self._lock = threading.Lock()
        self._prizes = prizes
        self._granted = {}
        self.claims = []  # (campaign_id, person_id, key, thread name)
        self.releases = []  # (campaign_id, key, thread name)

    def claim(self, campaign_id, person_id, idempotency_key):
        with self._lock:
            self.claims.append((campaign_id, person_id, idempotency_key,
                                threading.current_thread().name))
            if idempotency_key in self._granted:
                return reach.ClaimOutcome.GRANTED(claim_id=self._granted[idempotency_key])
            if self._prizes == 0:
                return reach.ClaimOutcome.EXHAUSTED()
            self._prizes -= 1
            claim_id = f"prize-{len(self._granted) + 1}"
            self._granted[idempotency_key] = claim_id
            return reach.ClaimOutcome.GRANTED(claim_id=claim_id)

    def release(self, campaign_id, idempotency_key):
        with self._lock:
            self.releases.append((campaign_id, idempotency_key, threading.current_thread().name))
            if self._granted.pop(idempotency_key, None) is not None:
                self._prizes += 1

    def snapshot(self):
        with self._lock:
            return list(self.claims), list(self.releases)


def explain_until(r, campaign_id, condition, what, timeout=5.0):
    """Asks explain() until `condition(explanation)` holds (a claim's answer reaches Reach's
    worker after the host's claim() returned); fails with the last text after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        e = r.explain(campaign_id)
        if condition(e):
            return e
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last explanation:\n{e.text}")
        time.sleep(0.01)


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
    # close() returns before Reach's presenter thread has released the Python presenter (a Rust
    # bug, see test_close_stops_calling_the_presenter): if the interpreter exits while that
    # thread calls into Python, the process aborts ("FATAL: exception not rethrown"). Wait for it.
    deadline = time.monotonic() + 5.0
    while presenter_threads() and time.monotonic() < deadline:
        time.sleep(0.01)


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
