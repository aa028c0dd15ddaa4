"""End-to-end tests of the generated Python bindings against the real library.

Every test opens Reach on its own temporary data directory and checks what the
library reports (`diagnostics()`), what it logs (a Python `LogSink`) and, where
the public API cannot show an effect, what it wrote to its database.
"""

from __future__ import annotations

import json
import math
import threading
import time

import pytest

import reach
from conftest import (
    BIG_SPENDER_PACK,
    HOLDOUT_PACK,
    INVALID_PACK_PATH,
    KIND_IDENTIFY,
    KIND_SCREEN,
    KIND_TRACK,
    LOTTERY_PACK,
    PRIZE_CAMPAIGN,
    PRIZE_PACK,
    CollectingSink,
    RecordingPresenter,
    StockClaimClient,
    app_info,
    db_events,
    db_identity,
    db_meta,
    db_user_properties,
    explain_until,
    invalid_lottery_pack,
    lottery_pack,
    make_config,
    presenter_threads,
    wait_for,
)

PV = reach.PropertyValue


def flushed(r) -> "reach.Diagnostics":
    """flush() must complete; returns the diagnostics afterwards."""
    assert r.flush() is True
    return r.diagnostics()


# --- API surface -------------------------------------------------------------------------------


class RecordingScheduler(reach.NotificationScheduler):
    """A NotificationScheduler written in Python: keeps what it is asked to do."""

    def __init__(self):
        self.calls = []

    def schedule(self, notification):
        self.calls.append(("schedule", notification))

    def cancel(self, notification_id):
        self.calls.append(("cancel", notification_id))


def test_every_public_method_of_reach_is_called(open_reach, data_dir):
    """Calls each public method once; fails if the generated class grows a method this test
    does not call, so the suite keeps covering the whole surface."""
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    other_sink = CollectingSink()
    results = {}
    calls = {
        "track": lambda: r.track("smoke_track", {"k": PV.STRING_VALUE("v")}),
        "screen": lambda: r.screen("Home", {"tab": PV.STRING_VALUE("feed")}),
        "identify": lambda: r.identify("user-1"),
        "set_user_properties": lambda: r.set_user_properties({"plan": PV.STRING_VALUE("pro")}),
        "unset_user_properties": lambda: r.unset_user_properties(["plan"]),
        "on_foreground": lambda: r.on_foreground(),
        "set_timezone": lambda: r.set_timezone("Europe/Berlin"),
        "on_background": lambda: r.on_background(),
        "flush": lambda: r.flush(),
        "diagnostics": lambda: r.diagnostics(),
        "set_consent": lambda: r.set_consent(reach.Consent.PENDING),
        "consent": lambda: r.consent(),
        "set_log_sink": lambda: r.set_log_sink(other_sink),
        "load_rule_pack": lambda: r.load_rule_pack(LOTTERY_PACK),
        "set_popup_presenter": lambda: r.set_popup_presenter(RecordingPresenter()),
        "set_claim_client": lambda: r.set_claim_client(StockClaimClient(prizes=1)),
        "set_notification_scheduler": lambda: r.set_notification_scheduler(RecordingScheduler()),
        # A notification id Reach does not know is ignored (logged at DEBUG).
        "notification_tapped": lambda: r.notification_tapped("no-such-notification"),
        "explain": lambda: r.explain("new-user-lottery"),
        # Offered to the presenter set above, flagged as a test (see the Kotlin suite).
        "preview": lambda: r.preview("new-user-lottery", None),
        # The wrappers' batch entry point: one queued track, stamped by its caller.
        "apply_calls": lambda: r.apply_calls([
            reach.QueuedCall.TRACK(name="queued_track", properties={}, timestamp_ms=1_700_000_000_000)
        ]),
        # No server_url is configured here, so nothing can be uploaded.
        "upload_now": lambda: r.upload_now(1000),
        # An offer id that is not in flight is ignored (logged at DEBUG).
        "popup_shown": lambda: r.popup_shown("no-such-offer"),
        "popup_clicked": lambda: r.popup_clicked("no-such-offer", "draw"),
        "popup_dismissed": lambda: r.popup_dismissed("no-such-offer"),
        "reset": lambda: r.reset(),
        "delete_local_data": lambda: r.delete_local_data(),
        "close": lambda: r.close(),
    }
    public = {n for n in dir(reach.Reach) if not n.startswith("_")}
    assert public == set(calls), (
        f"Reach's public methods changed: not called here {sorted(public - set(calls))}, "
        f"gone {sorted(set(calls) - public)}"
    )
    for name, call in calls.items():
        results[name] = call()

    for name in ("track", "screen", "identify", "set_user_properties", "unset_user_properties",
                 "on_foreground", "set_timezone", "set_consent", "set_log_sink", "reset", "delete_local_data",
                 "load_rule_pack", "set_popup_presenter", "set_claim_client", "popup_shown",
                 "popup_clicked", "popup_dismissed", "apply_calls", "preview"):
        assert results[name] is None, name
    assert results["upload_now"].stop == reach.UploadStop.NO_SERVER
    assert results["upload_now"].acknowledged == 0
    assert isinstance(results["explain"], reach.CampaignExplanation)
    assert (results["explain"].in_pack, results["explain"].outcome) == (True, "no matching event yet")
    assert results["on_background"] is True
    assert results["flush"] is True
    assert isinstance(results["diagnostics"], reach.Diagnostics)
    # track, screen, identify, set_user_properties, app_open
    assert results["diagnostics"].stored == 5
    assert results["consent"] == reach.Consent.PENDING
    assert results["close"] is True


def test_config_defaults_are_the_core_defaults(data_dir):
    c = reach.ReachConfig(data_dir=str(data_dir), app=app_info(), consent=reach.Consent.GRANTED)
    assert (c.max_queued_events, c.max_queued_bytes) == (50_000, 10 * 1024 * 1024)
    assert c.strict is False
    assert c.record_app_open is True
    assert c.session_timeout_ms == 30 * 60 * 1000
    assert c.flush_timeout_ms == 1000
    assert c.bundled_rule_pack is None
    assert c.app.build == "45" and reach.AppInfo(
        app_version="1", platform="p", os_version="o", locale="l", timezone="t"
    ).build == ""


def test_a_fresh_instance_reports_empty_diagnostics(open_reach, data_dir):
    r = open_reach(data_dir)
    d = flushed(r)
    assert (d.queued, d.stored, d.stored_bytes) == (0, 0, 0)
    assert (d.rejected_total, d.rejected_by_reason) == (0, {})
    assert (d.dropped_overflow, d.dropped_storage_error) == (0, 0)
    assert d.popups_offered == 0
    assert d.persistent is True
    assert d.database_bytes > 0
    assert (data_dir / "reach.db").is_file()


# --- persistence -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 500])
def test_tracked_events_survive_close_and_reopen(open_reach, data_dir, n):
    r = open_reach(data_dir)
    for i in range(n):
        r.track("purchase", {"i": PV.INT_VALUE(i)})
    assert r.flush() is True
    d = r.diagnostics()
    assert (d.stored, d.queued, d.rejected_total) == (n, 0, 0)
    assert d.stored_bytes > 0
    assert r.close() is True

    events = db_events(data_dir)
    assert [e["props"]["i"] for e in events] == list(range(n))
    assert {(e["kind"], e["name"]) for e in events} == {(KIND_TRACK, "purchase")}

    again = open_reach(data_dir)
    d2 = flushed(again)
    assert d2.stored == n
    assert d2.stored_bytes == d.stored_bytes
    again.track("one_more", {})
    assert flushed(again).stored == n + 1


def test_diagnostics_right_after_reopen_reports_the_stored_events(open_reach, data_dir):
    r = open_reach(data_dir)
    for i in range(10):
        r.track("e", {})
    assert r.flush() is True
    r.close()
    again = open_reach(data_dir)
    assert again.diagnostics().stored == 10


# --- property values ---------------------------------------------------------------------------

VARIANTS = [
    pytest.param(PV.STRING_VALUE('héllo "q" 中文'), 'héllo "q" 中文', id="string"),
    pytest.param(PV.STRING_VALUE(""), "", id="string-empty"),
    pytest.param(PV.INT_VALUE(-(2**63)), -(2**63), id="int-min"),
    pytest.param(PV.INT_VALUE(2**63 - 1), 2**63 - 1, id="int-max"),
    pytest.param(PV.FLOAT_VALUE(1.5), 1.5, id="float"),
    pytest.param(PV.FLOAT_VALUE(-0.0), -0.0, id="float-negative-zero"),
    pytest.param(PV.BOOL_VALUE(True), True, id="bool-true"),
    pytest.param(PV.BOOL_VALUE(False), False, id="bool-false"),
    pytest.param(PV.TIMESTAMP_VALUE(1_700_000_000_123), "2023-11-14T22:13:20.123Z", id="timestamp"),
    pytest.param(PV.TIMESTAMP_VALUE(0), "1970-01-01T00:00:00.000Z", id="timestamp-epoch"),
    pytest.param(PV.STRING_LIST_VALUE(["a", "b", "中"]), ["a", "b", "中"], id="string-list"),
    pytest.param(PV.STRING_LIST_VALUE([]), [], id="string-list-empty"),
]


@pytest.mark.parametrize("value, stored_json", VARIANTS)
def test_each_property_value_variant_is_accepted(open_reach, data_dir, value, stored_json):
    r = open_reach(data_dir, strict=True)
    r.track("typed", {"v": value})
    r.screen("TypedScreen", {"v": value})
    d = flushed(r)
    assert (d.stored, d.rejected_total) == (2, 0)
    r.close()
    events = db_events(data_dir)
    assert [(e["kind"], e["name"]) for e in events] == [
        (KIND_TRACK, "typed"),
        (KIND_SCREEN, "TypedScreen"),
    ]
    for e in events:
        assert e["props"] == {"v": stored_json}


def test_all_variants_together_on_one_event(open_reach, data_dir):
    r = open_reach(data_dir, strict=True)
    props = {
        "s": PV.STRING_VALUE("x"),
        "i": PV.INT_VALUE(7),
        "f": PV.FLOAT_VALUE(2.25),
        "b": PV.BOOL_VALUE(True),
        "t": PV.TIMESTAMP_VALUE(1_000),
        "l": PV.STRING_LIST_VALUE(["y"]),
    }
    r.track("everything", props)
    assert flushed(r).stored == 1
    r.close()
    (e,) = db_events(data_dir)
    assert e["props"] == {
        "s": "x", "i": 7, "f": 2.25, "b": True, "t": "1970-01-01T00:00:01.000Z", "l": ["y"],
    }


def test_out_of_range_int_is_refused_by_the_binding(open_reach, data_dir):
    r = open_reach(data_dir)
    with pytest.raises(ValueError):
        r.track("big", {"n": PV.INT_VALUE(2**63)})
    d = flushed(r)
    assert (d.stored, d.rejected_total) == (0, 0)


def test_unsupported_value_is_rejected_and_counted(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    bad = {"obj": PV.UNSUPPORTED_VALUE("MyObject"), "ok": PV.INT_VALUE(1)}
    assert r.track("with_object", bad) is None
    assert r.screen("ScreenWithObject", bad) is None
    assert r.set_user_properties({"obj": PV.UNSUPPORTED_VALUE("MyObject")}) is None
    d = flushed(r)
    assert d.stored == 0
    assert d.rejected_by_reason == {"unsupported_value": 3}
    assert d.rejected_total == 3
    warnings = sink.messages(reach.LogLevel.WARN)
    assert len(warnings) == 3
    assert all("MyObject" in m and "refused" in m for m in warnings)


def test_unsupported_value_raises_in_strict_mode(open_reach, data_dir):
    r = open_reach(data_dir, strict=True)
    with pytest.raises(reach.ReachError.InvalidInput) as ei:
        r.track("with_object", {"obj": PV.UNSUPPORTED_VALUE("MyObject")})
    assert ei.value.code == "unsupported_value"
    assert "MyObject" in ei.value.message
    d = flushed(r)
    assert (d.stored, d.rejected_by_reason) == (0, {"unsupported_value": 1})


# --- validation: strict and non-strict ---------------------------------------------------------

INVALID = [
    pytest.param("reach.x", {}, "name_reserved_prefix", id="reserved-prefix"),
    pytest.param("", {}, "name_empty", id="empty-name"),
    pytest.param("price", {"amount": PV.FLOAT_VALUE(math.nan)}, "non_finite_float", id="nan"),
]


@pytest.mark.parametrize("name, props, code", INVALID)
def test_strict_mode_raises_invalid_input(open_reach, data_dir, name, props, code):
    r = open_reach(data_dir, strict=True)
    with pytest.raises(reach.ReachError.InvalidInput) as ei:
        r.track(name, props)
    err = ei.value
    assert isinstance(err, reach.ReachError)
    assert err.code == code
    assert err.message
    with pytest.raises(reach.ReachError.InvalidInput) as ei:
        r.screen(name, props)
    assert ei.value.code == code
    # The refusal is counted in strict mode too, and valid events still go through.
    r.track("valid", {})
    d = flushed(r)
    assert d.stored == 1
    assert d.rejected_by_reason == {code: 2}


def test_non_strict_mode_counts_instead_of_raising(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    assert r.track("reach.x", {}) is None
    assert r.track("", {}) is None
    assert r.track("price", {"amount": PV.FLOAT_VALUE(math.nan)}) is None
    assert r.track("price", {"amount": PV.FLOAT_VALUE(math.inf)}) is None
    assert r.screen("price", {"amount": PV.FLOAT_VALUE(-math.inf)}) is None
    assert r.identify("") is None
    r.track("valid", {})
    d = flushed(r)
    assert d.stored == 1
    assert d.rejected_by_reason == {
        "name_reserved_prefix": 1,
        "name_empty": 1,
        "non_finite_float": 3,
        "property_key_invalid": 1,
    }
    assert d.rejected_total == 6
    assert len(sink.messages(reach.LogLevel.WARN)) == 6


# --- opening -----------------------------------------------------------------------------------


def test_second_instance_on_the_same_dir_raises_already_open(open_reach, data_dir):
    first = open_reach(data_dir)
    with pytest.raises(reach.ReachError.AlreadyOpen) as ei:
        reach.Reach(make_config(data_dir), None)
    assert isinstance(ei.value, reach.ReachError)
    assert str(data_dir) in ei.value.message
    # The failed open did not disturb the first instance.
    first.track("still_recorded", {})
    assert flushed(first).stored == 1
    assert first.close() is True
    # Closing released the directory.
    second = open_reach(data_dir)
    assert flushed(second).stored == 1


def test_a_data_dir_that_is_a_file_raises_storage_in_strict_mode(open_reach, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(reach.ReachError.Storage) as ei:
        open_reach(not_a_dir, strict=True)
    assert str(not_a_dir) in ei.value.message


def test_a_data_dir_that_is_a_file_keeps_events_in_memory_and_says_why(open_reach, tmp_path):
    """Non-strict: the host app keeps running; events live in memory and diagnostics say why."""
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    r = open_reach(not_a_dir)
    r.track("still_recorded", {})
    d = flushed(r)
    assert d.persistent is False
    assert d.storage_problem is not None and str(not_a_dir) in d.storage_problem
    assert d.stored >= 1


# --- consent -----------------------------------------------------------------------------------


def test_consent_denied_deletes_events_and_refuses_new_ones(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    assert r.consent() == reach.Consent.GRANTED
    for _ in range(5):
        r.track("before", {})
    assert flushed(r).stored == 5

    r.set_consent(reach.Consent.DENIED)
    assert r.consent() == reach.Consent.DENIED
    assert flushed(r).stored == 0
    r.track("after", {})
    r.screen("AfterScreen", {})
    d = flushed(r)
    assert d.stored == 0
    assert d.rejected_by_reason == {"consent_denied": 2}
    assert any('"after"' in m and "consent" in m for m in sink.messages(reach.LogLevel.WARN))
    r.close()
    assert db_events(data_dir) == []

    # The persisted choice wins over the config's initial consent.
    again = open_reach(data_dir, consent=reach.Consent.GRANTED)
    assert again.flush() is True  # the worker has loaded the persisted state
    assert again.consent() == reach.Consent.DENIED
    again.track("still_refused", {})
    d = flushed(again)
    assert (d.stored, d.rejected_by_reason) == (0, {"consent_denied": 1})

    again.set_consent(reach.Consent.GRANTED)
    again.track("granted_again", {})
    assert flushed(again).stored == 1


def test_initial_consent_denied_records_nothing(open_reach, data_dir):
    r = open_reach(data_dir, consent=reach.Consent.DENIED)
    assert r.consent() == reach.Consent.DENIED
    r.track("x", {})
    r.on_foreground()
    d = flushed(r)
    assert d.stored == 0
    assert d.rejected_by_reason.get("consent_denied", 0) >= 1


def test_consent_pending_still_records_locally(open_reach, data_dir):
    r = open_reach(data_dir, consent=reach.Consent.PENDING)
    assert r.consent() == reach.Consent.PENDING
    r.track("x", {})
    assert flushed(r).stored == 1


def test_persisted_consent_applies_from_the_first_call_after_reopen(open_reach, data_dir):
    r = open_reach(data_dir, consent=reach.Consent.DENIED)
    r.set_consent(reach.Consent.GRANTED)
    r.close()
    again = open_reach(data_dir, consent=reach.Consent.DENIED)
    assert again.consent() == reach.Consent.GRANTED
    again.track("first", {})
    d = flushed(again)
    assert (d.stored, d.rejected_total) == (1, 0)


# --- identity and user properties --------------------------------------------------------------


def test_identify_and_set_user_properties_add_identify_events(open_reach, data_dir):
    r = open_reach(data_dir, strict=True)
    r.track("before", {})
    r.identify("user-42")
    r.set_user_properties({"plan": PV.STRING_VALUE("pro"), "seats": PV.INT_VALUE(3)})
    r.track("after", {})
    d = flushed(r)
    assert (d.stored, d.rejected_total) == (4, 0)
    r.close()

    events = db_events(data_dir)
    assert [(e["kind"], e["name"]) for e in events] == [
        (KIND_TRACK, "before"),
        (KIND_IDENTIFY, "identify"),
        (KIND_IDENTIFY, "identify"),
        (KIND_TRACK, "after"),
    ]
    assert [e["user_id"] for e in events] == [None, "user-42", "user-42", "user-42"]
    assert len({e["anonymous_id"] for e in events}) == 1
    assert events[2]["props"] == {"plan": "pro", "seats": 3}
    assert db_user_properties(data_dir) == {"plan": {"s": "pro"}, "seats": {"i": 3}}


def test_identifying_a_different_user_starts_a_fresh_person(open_reach, data_dir):
    r = open_reach(data_dir)
    r.identify("alice")
    r.set_user_properties({"plan": PV.STRING_VALUE("pro")})
    r.identify("bob")
    assert flushed(r).stored == 3
    r.close()
    alice, alice_props, bob = db_events(data_dir)
    assert alice["user_id"] == alice_props["user_id"] == "alice"
    assert bob["user_id"] == "bob"
    assert bob["anonymous_id"] != alice["anonymous_id"]
    assert bob["session_id"] != alice["session_id"]
    assert db_user_properties(data_dir) == {}


def test_unset_user_properties_removes_only_the_given_keys(open_reach, data_dir):
    r = open_reach(data_dir)
    r.set_user_properties({
        "plan": PV.STRING_VALUE("pro"),
        "seats": PV.INT_VALUE(3),
        "beta": PV.BOOL_VALUE(True),
    })
    r.unset_user_properties(["seats", "never_set"])
    d = flushed(r)
    assert (d.stored, d.rejected_total) == (1, 0)  # unsetting records no event
    r.close()
    assert db_user_properties(data_dir) == {"plan": {"s": "pro"}, "beta": {"b": True}}

    # User properties persist across reopen; unsetting the rest removes the record.
    again = open_reach(data_dir)
    again.unset_user_properties(["plan", "beta"])
    again.unset_user_properties([])
    assert again.flush() is True
    again.close()
    assert db_meta(data_dir, "user_properties") is None


def test_reset_forgets_the_user_and_starts_a_new_anonymous_id(open_reach, data_dir):
    r = open_reach(data_dir)
    r.identify("user-7")
    r.set_user_properties({"plan": PV.STRING_VALUE("pro")})
    r.track("before", {})
    r.reset()
    r.track("after", {})
    # reset() keeps the recorded events.
    assert flushed(r).stored == 4
    r.close()
    events = db_events(data_dir)
    before, after = events[2], events[3]
    assert (before["name"], before["user_id"]) == ("before", "user-7")
    assert (after["name"], after["user_id"]) == ("after", None)
    assert after["anonymous_id"] != before["anonymous_id"]
    assert after["session_id"] != before["session_id"]
    assert db_identity(data_dir) == {"anonymous_id": after["anonymous_id"], "user_id": None}
    assert db_user_properties(data_dir) == {}


def test_delete_local_data_deletes_everything_but_consent(open_reach, data_dir):
    r = open_reach(data_dir)
    r.set_consent(reach.Consent.PENDING)
    r.identify("user-9")
    r.set_user_properties({"plan": PV.STRING_VALUE("pro")})
    for _ in range(10):
        r.track("e", {})
    assert flushed(r).stored == 12
    # Committed, so a reader sees it while Reach is open (WAL).
    old_identity = db_identity(data_dir)
    assert old_identity["user_id"] == "user-9"

    r.delete_local_data()
    d = flushed(r)
    assert (d.stored, d.stored_bytes) == (0, 0)
    assert r.consent() == reach.Consent.PENDING
    r.track("after", {})
    assert flushed(r).stored == 1
    r.close()

    (after,) = db_events(data_dir)
    assert (after["name"], after["user_id"]) == ("after", None)
    assert after["anonymous_id"] != old_identity["anonymous_id"]
    assert db_user_properties(data_dir) == {}
    assert db_meta(data_dir, "consent") == "pending"

    again = open_reach(data_dir, consent=reach.Consent.GRANTED)
    assert again.flush() is True
    assert again.consent() == reach.Consent.PENDING
    assert again.diagnostics().stored == 1


# --- app lifecycle -----------------------------------------------------------------------------


@pytest.mark.parametrize("record_app_open", [True, False])
def test_on_foreground_records_app_open_unless_disabled(open_reach, data_dir, record_app_open):
    r = open_reach(data_dir, record_app_open=record_app_open)
    assert r.on_foreground() is None
    d = flushed(r)
    assert d.stored == (1 if record_app_open else 0)
    r.close()
    expected = [(KIND_TRACK, "app_open")] if record_app_open else []
    assert [(e["kind"], e["name"]) for e in db_events(data_dir)] == expected


def test_on_background_returns_true_and_commits(open_reach, data_dir):
    r = open_reach(data_dir)
    r.on_foreground()
    r.track("tap", {})
    assert r.on_background() is True
    # on_background() flushed: no extra flush() needed.
    d = r.diagnostics()
    assert (d.stored, d.queued) == (2, 0)


@pytest.mark.parametrize("timeout_ms, same_session", [(30 * 60 * 1000, True), (0, False)])
def test_returning_to_the_foreground_continues_or_starts_a_session(
    open_reach, data_dir, timeout_ms, same_session
):
    r = open_reach(data_dir, session_timeout_ms=timeout_ms)
    r.on_foreground()
    assert r.on_background() is True
    time.sleep(0.02)
    r.on_foreground()
    assert flushed(r).stored == 2
    r.close()
    first, second = db_events(data_dir)
    assert (first["session_id"] == second["session_id"]) is same_session


# --- logging -----------------------------------------------------------------------------------


def test_log_sink_receives_a_warning_from_a_rust_background_thread(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    r.track("reach.internal", {})
    assert r.flush() is True  # log lines go through the worker, before the flush answer
    lines = [ln for ln in sink.snapshot() if "reach.internal" in ln[1]]
    assert len(lines) == 1, sink.snapshot()
    level, message, thread_id, _ = lines[0]
    assert level == reach.LogLevel.WARN
    assert "refused" in message and "reserved" in message
    assert thread_id != threading.get_ident(), "LogSink must not be called on the caller's thread"
    assert thread_id != threading.main_thread().ident


def test_set_log_sink_replaces_and_removes_the_sink(open_reach, data_dir):
    first, second = CollectingSink(), CollectingSink()
    r = open_reach(data_dir, sink=first)
    r.track("", {})
    assert r.flush()
    r.set_log_sink(second)
    r.track("", {})
    assert r.flush()
    r.set_log_sink(None)
    r.track("", {})
    assert r.flush()
    assert len(first.messages()) == 1
    assert len(second.messages()) == 1
    assert r.diagnostics().rejected_by_reason == {"name_empty": 3}


def test_a_log_sink_that_raises_does_not_stop_reach(open_reach, data_dir):
    class Raising(reach.LogSink):
        def __init__(self):
            self.calls = 0

        def log(self, level, message):
            self.calls += 1
            raise RuntimeError("host logger broke")

    sink = Raising()
    r = open_reach(data_dir, sink=sink)
    for _ in range(3):
        r.track("", {})
        r.track("ok", {})
    d = flushed(r)
    assert (d.stored, d.rejected_total) == (3, 3)
    assert sink.calls == 3


# --- concurrency and limits --------------------------------------------------------------------


def test_eight_python_threads_track_concurrently(open_reach, data_dir):
    threads_n, per_thread = 8, 5_000
    r = open_reach(data_dir, max_queued_events=100_000, flush_timeout_ms=60_000)
    start = threading.Barrier(threads_n)
    errors = []

    def work(t):
        try:
            start.wait()
            for i in range(per_thread):
                r.track("tap", {"t": PV.INT_VALUE(t), "i": PV.INT_VALUE(i)})
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads)
    assert errors == []
    d = flushed(r)
    assert d.stored == threads_n * per_thread
    assert (d.queued, d.rejected_total, d.dropped_overflow, d.dropped_storage_error) == (0, 0, 0, 0)
    r.close()

    # Every event once, and each thread's events in the order that thread tracked them.
    per = {t: [] for t in range(threads_n)}
    for e in db_events(data_dir):
        per[e["props"]["t"]].append(e["props"]["i"])
    for t in range(threads_n):
        assert per[t] == list(range(per_thread)), f"thread {t}"


def test_calls_after_close_do_not_raise_and_flush_returns_false(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    r.track("before", {})
    assert r.close() is True
    refused = [
        lambda: r.track("late", {}),
        lambda: r.screen("Late", {}),
        lambda: r.identify("late-user"),
        lambda: r.set_user_properties({"k": PV.INT_VALUE(1)}),
        lambda: r.unset_user_properties(["k"]),
        lambda: r.reset(),
        lambda: r.set_consent(reach.Consent.GRANTED),
        lambda: r.delete_local_data(),
        lambda: r.on_foreground(),
        lambda: r.load_rule_pack(LOTTERY_PACK),
        lambda: r.set_popup_presenter(None),
        lambda: r.popup_shown("offer"),
        lambda: r.popup_clicked("offer", "draw"),
        lambda: r.popup_dismissed("offer"),
    ]
    for call in refused:
        assert call() is None
    assert r.on_background() is False
    assert r.flush() is False
    assert r.close() is True  # idempotent
    r.set_log_sink(None)
    assert r.consent() == reach.Consent.GRANTED
    d = r.diagnostics()
    assert d.stored == 1
    assert d.rejected_by_reason == {"closed": len(refused) + 1}  # + on_background
    assert [e["name"] for e in db_events(data_dir)] == ["before"]
    # The directory is free again.
    again = open_reach(data_dir)
    assert flushed(again).stored == 1


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda r: r.identify("u"), id="identify"),
        pytest.param(lambda r: r.set_user_properties({}), id="set_user_properties"),
        pytest.param(lambda r: r.unset_user_properties([]), id="unset_user_properties"),
        pytest.param(lambda r: r.reset(), id="reset"),
        pytest.param(lambda r: r.set_consent(reach.Consent.PENDING), id="set_consent"),
        pytest.param(lambda r: r.delete_local_data(), id="delete_local_data"),
        pytest.param(lambda r: r.on_foreground(), id="on_foreground"),
        pytest.param(lambda r: r.load_rule_pack(LOTTERY_PACK), id="load_rule_pack"),
        pytest.param(lambda r: r.set_popup_presenter(None), id="set_popup_presenter"),
        pytest.param(lambda r: r.popup_shown("offer"), id="popup_shown"),
        pytest.param(lambda r: r.popup_clicked("offer", "draw"), id="popup_clicked"),
        pytest.param(lambda r: r.popup_dismissed("offer"), id="popup_dismissed"),
        pytest.param(
            lambda r: r.track("late", {}),
            id="track",
        ),
        pytest.param(
            lambda r: r.screen("Late", {}),
            id="screen",
        ),
    ],
)
def test_strict_calls_after_close_raise_closed(open_reach, data_dir, call):
    r = open_reach(data_dir, strict=True)
    assert r.close() is True
    with pytest.raises(reach.ReachError.Closed):
        call(r)
    assert r.diagnostics().rejected_by_reason == {"closed": 1}


def test_queue_overflow_keeps_the_limit_and_counts_the_drops(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink, max_queued_events=100)
    for i in range(250):
        r.track("e", {"i": PV.INT_VALUE(i)})
    d = flushed(r)
    assert d.stored == 100
    assert d.dropped_overflow == 150
    assert (d.rejected_total, d.queued) == (0, 0)
    assert any("queue is full" in m for m in sink.messages(reach.LogLevel.WARN))
    r.close()
    kept = [e["props"]["i"] for e in db_events(data_dir)]
    assert len(kept) == 100 and kept == sorted(kept)


def test_queue_byte_limit_drops_the_oldest(open_reach, data_dir):
    r = open_reach(data_dir, max_queued_bytes=4_000)
    for i in range(200):
        r.track("e", {"pad": PV.STRING_VALUE("x" * 50), "i": PV.INT_VALUE(i)})
    d = flushed(r)
    assert 0 < d.stored < 200
    assert d.stored_bytes <= 4_000
    assert d.dropped_overflow == 200 - d.stored
    r.close()
    kept = [e["props"]["i"] for e in db_events(data_dir)]
    # Only the oldest were dropped: what is left is the newest, in order.
    assert kept == list(range(200 - len(kept), 200))


# --- rule packs and popups ---------------------------------------------------------------------

POPUP_EVENTS = ("reach.popup.shown", "reach.popup.clicked", "reach.popup.dismissed")


def test_a_python_presenter_receives_the_registration_popup(open_reach, data_dir):
    """Scenario 01 through the bindings: offer, shown, clicked, and max_total 1 afterwards."""
    r = open_reach(data_dir)
    presenter = RecordingPresenter()
    assert r.load_rule_pack(LOTTERY_PACK) is None
    r.set_popup_presenter(presenter)
    r.track("register", {"method": PV.STRING_VALUE("sms")})

    popup, thread_id, thread_name = presenter.next("the registration popup")
    assert thread_id != threading.get_ident(), "the presenter must not run on the caller's thread"
    assert thread_id != threading.main_thread().ident
    assert isinstance(popup, reach.Popup)
    assert popup.campaign_id == "new-user-lottery"
    assert popup.title == "New member lottery"
    assert popup.template == reach.PopupTemplate.MODAL
    assert (popup.body, popup.image_url, popup.payload) == (None, None, {})
    assert popup.offer_id and popup.variant
    assert [b.id for b in popup.buttons] == ["draw", "later"]
    assert [b.text for b in popup.buttons] == ["Draw now", "Later"]
    assert popup.buttons[0].action == reach.ButtonAction.DEEP_LINK(url="app://lottery")
    assert popup.buttons[1].action == reach.ButtonAction.DISMISS()
    assert popup.buttons[0].action.is_DEEP_LINK() and popup.buttons[1].action.is_DISMISS()

    r.popup_shown(popup.offer_id)
    r.popup_clicked(popup.offer_id, "draw")
    d = flushed(r)
    assert d.stored == 4  # register, reach.popup.offered, reach.popup.shown, reach.popup.clicked
    assert d.popups_offered == 1

    # max_total 1: the second registration is stored but offers nothing.
    r.track("register", {"method": PV.STRING_VALUE("sms")})
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (5, 1)
    assert presenter.poll(0.2) is None
    assert presenter.calls == 1
    r.close()

    events = db_events(data_dir)
    assert [e["name"] for e in events] == [
        "register", "reach.popup.offered", "reach.popup.shown", "reach.popup.clicked", "register",
    ]
    assert {e["kind"] for e in events} == {KIND_TRACK}
    ids = {"campaign_id": "new-user-lottery", "variant": popup.variant, "offer_id": popup.offer_id}
    assert events[1]["props"] == ids
    assert events[2]["props"] == ids
    assert events[3]["props"] == {**ids, "button_id": "draw"}


def test_a_dismiss_button_click_is_a_dismiss_and_max_total_counts_impressions(open_reach, data_dir):
    r = open_reach(data_dir)
    r.load_rule_pack(lottery_pack(max_total=2))
    presenter = RecordingPresenter()
    r.set_popup_presenter(presenter)

    r.track("register", {})
    first = presenter.next("the first popup")[0]
    r.popup_shown(first.offer_id)
    r.popup_clicked(first.offer_id, "later")  # its action is "dismiss"
    # A dismiss does not end the campaign (after_dismiss defaults to at once).
    r.track("register", {})
    second = presenter.next("the second popup")[0]
    assert second.offer_id != first.offer_id
    r.popup_dismissed(second.offer_id)  # not reported shown: the dismiss implies it
    # Two impressions: max_total 2 is reached.
    r.track("register", {})
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (9, 2)
    assert presenter.poll(0.2) is None
    r.close()

    events = db_events(data_dir)
    assert [e["name"] for e in events] == [
        "register", "reach.popup.offered", "reach.popup.shown", "reach.popup.dismissed",
        "register", "reach.popup.offered", "reach.popup.shown", "reach.popup.dismissed",
        "register",
    ]
    assert events[3]["props"]["button_id"] == "later"
    assert "button_id" not in events[7]["props"]
    assert [e["props"]["offer_id"] for e in events if e["name"] in POPUP_EVENTS] == [
        first.offer_id, first.offer_id, second.offer_id, second.offer_id,
    ]


@pytest.mark.parametrize("strict", [False, True], ids=["non-strict", "strict"])
def test_an_invalid_rule_pack_raises_invalid_rule_pack(open_reach, data_dir, strict):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink, strict=strict)
    r.load_rule_pack(LOTTERY_PACK)

    with pytest.raises(reach.ReachError.InvalidRulePack) as ei:
        r.load_rule_pack(invalid_lottery_pack())
    err = ei.value
    assert isinstance(err, reach.ReachError)
    assert err.path == "campaigns[0].trigger.where[0].op" == INVALID_PACK_PATH
    assert 'unknown operator "gtx"' in err.message

    # Not JSON at all: the path is empty (the document itself).
    with pytest.raises(reach.ReachError.InvalidRulePack) as ei:
        r.load_rule_pack("{")
    assert ei.value.path == ""
    assert ei.value.message

    # The active pack keeps serving.
    presenter = RecordingPresenter()
    r.set_popup_presenter(presenter)
    r.track("register", {})
    assert presenter.next("the popup of the still-active pack")[0].campaign_id == "new-user-lottery"
    assert r.flush() is True
    assert any(INVALID_PACK_PATH in m for m in sink.messages(reach.LogLevel.ERROR))
    # A refused pack is not an event refusal.
    assert r.diagnostics().rejected_total == 0


def test_a_discard_answer_counts_nothing(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    r.load_rule_pack(LOTTERY_PACK)
    presenter = RecordingPresenter(reach.PresenterDecision.DISCARD())
    r.set_popup_presenter(presenter)

    r.track("register", {})
    first = presenter.next("the first offer")[0]
    # The answer reaches Reach's worker after offer() returns; it logs the discard.
    wait_for(lambda: any(f"discarded popup {first.offer_id}" in m for m in sink.messages()),
             "the discard to reach the worker")
    d = flushed(r)
    # The register and the offer point (reach.popup.offered); nothing shown, clicked or dismissed.
    assert (d.stored, d.popups_offered) == (2, 1)

    # Nothing was counted (max_total counts impressions only): offered again, with a new id.
    r.track("register", {})
    second = presenter.next("the offer after the discard")[0]
    assert second.offer_id != first.offer_id
    assert second.campaign_id == "new-user-lottery"
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (4, 2)
    r.close()
    assert [e["name"] for e in db_events(data_dir)] == [
        "register", "reach.popup.offered", "register", "reach.popup.offered",
    ]


def test_a_later_answer_offers_the_same_popup_again(open_reach, data_dir):
    r = open_reach(data_dir, record_app_open=False)
    r.on_foreground()
    r.load_rule_pack(LOTTERY_PACK)
    presenter = RecordingPresenter(reach.PresenterDecision.LATER(delay_ms=100))
    r.set_popup_presenter(presenter)
    r.track("register", {})
    first = presenter.next("the first offer")[0]
    again = presenter.next("the offer again after 100 ms")[0]
    assert again.offer_id == first.offer_id
    r.popup_shown(again.offer_id)
    r.popup_dismissed(again.offer_id)
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (4, 2)
    r.close()
    # Offered once (the exposure point), presented twice.
    assert [e["name"] for e in db_events(data_dir)] == [
        "register", "reach.popup.offered", "reach.popup.shown", "reach.popup.dismissed",
    ]


def test_a_later_answer_with_a_huge_delay_is_not_offered_again_at_once(open_reach, data_dir):
    r = open_reach(data_dir, record_app_open=False)
    r.on_foreground()
    r.load_rule_pack(LOTTERY_PACK)

    class AlwaysLater(RecordingPresenter):
        def offer(self, popup):
            super().offer(popup)
            return reach.PresenterDecision.LATER(delay_ms=2**64 - 1)

    presenter = AlwaysLater()
    r.set_popup_presenter(presenter)
    r.track("register", {})
    presenter.next("the first offer")
    time.sleep(0.3)
    calls = presenter.calls
    r.set_popup_presenter(None)  # stop a re-offer loop before asserting
    assert calls == 1


@pytest.mark.parametrize(
    "foreground, remove_presenter",
    [
        pytest.param(False, False, id="background"),
        pytest.param(True, True, id="foreground-presenter-removed"),
    ],
)
def test_a_due_deferred_popup_that_cannot_be_offered_does_not_spin_the_worker(
    open_reach, data_dir, foreground, remove_presenter
):
    r = open_reach(data_dir, record_app_open=False)
    if foreground:
        r.on_foreground()
    r.load_rule_pack(LOTTERY_PACK)
    presenter = RecordingPresenter(reach.PresenterDecision.LATER(delay_ms=50))
    r.set_popup_presenter(presenter)
    r.track("register", {})
    presenter.next("the first offer")
    if remove_presenter:
        r.set_popup_presenter(None)  # before the 50 ms delay is over
    time.sleep(0.2)  # the delay is over: due, but it cannot be offered now
    cpu = time.process_time()
    time.sleep(1.0)
    busy = time.process_time() - cpu
    assert presenter.calls == 1
    assert busy < 0.2, f"{busy:.2f} CPU seconds used in one idle second"


def test_close_stops_calling_the_presenter(open_reach, data_dir):
    release = threading.Event()
    entered = threading.Event()

    class Slow(reach.PopupPresenter):
        def offer(self, popup):
            entered.set()
            release.wait(2.0)
            return reach.PresenterDecision.DISCARD()

    r = open_reach(data_dir, flush_timeout_ms=10_000)
    r.load_rule_pack(LOTTERY_PACK)
    r.set_popup_presenter(Slow())
    r.track("register", {})
    assert entered.wait(5.0)
    try:
        assert r.close() is True
        left = presenter_threads()
    finally:
        release.set()
    assert left == [], "a reach-presenter thread outlived close()"


def test_a_presenter_that_raises_is_a_discard(open_reach, data_dir):
    class Raising(reach.PopupPresenter):
        def offer(self, popup):
            raise RuntimeError("host presenter broke")

    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    r.load_rule_pack(LOTTERY_PACK)
    r.set_popup_presenter(Raising())
    r.track("register", {})
    wait_for(lambda: any("discarded popup" in m for m in sink.messages()),
             "the failed offer to count as a discard")
    presenter = RecordingPresenter()
    r.set_popup_presenter(presenter)
    r.track("register", {})
    assert presenter.next("the popup after the failure")[0].campaign_id == "new-user-lottery"
    assert flushed(r).stored == 4  # two registers, each with its offer point


def test_without_a_presenter_nothing_is_offered(open_reach, data_dir):
    r = open_reach(data_dir)
    r.load_rule_pack(LOTTERY_PACK)
    r.track("register", {})
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (1, 0)
    # Nothing was counted: once a presenter is set, the next registration is offered.
    presenter = RecordingPresenter()
    r.set_popup_presenter(presenter)
    r.track("register", {})
    assert presenter.next("the popup once a presenter is set")[0].campaign_id == "new-user-lottery"


def test_bundled_rule_pack_works_without_load_rule_pack(open_reach, data_dir):
    r = open_reach(data_dir, bundled_rule_pack=LOTTERY_PACK)
    presenter = RecordingPresenter(reach.PresenterDecision.DISCARD())
    r.set_popup_presenter(presenter)
    r.track("register", {"method": PV.STRING_VALUE("sms")})
    popup = presenter.next("the popup of the bundled pack")[0]
    assert popup.campaign_id == "new-user-lottery"
    assert popup.title == "New member lottery"
    assert [b.text for b in popup.buttons] == ["Draw now", "Later"]
    # A loaded pack is persisted and wins over the bundled one at the next open.
    pack = json.loads(LOTTERY_PACK)
    pack["campaigns"][0]["popup"]["title"] = "Loaded lottery"
    r.load_rule_pack(json.dumps(pack))
    r.close()

    again = open_reach(data_dir, bundled_rule_pack=LOTTERY_PACK)
    presenter = RecordingPresenter()
    again.set_popup_presenter(presenter)
    again.track("register", {})
    assert presenter.next("the popup of the loaded pack")[0].title == "Loaded lottery"


def test_an_invalid_bundled_pack_is_logged_not_raised(open_reach, data_dir):
    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink, bundled_rule_pack=invalid_lottery_pack())
    r.set_popup_presenter(RecordingPresenter())
    r.track("register", {})
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (1, 0)
    assert any("bundled rule pack is refused" in m and INVALID_PACK_PATH in m
               for m in sink.messages(reach.LogLevel.ERROR))


# --- prize claims, explain() and holdouts (rule pack format 1.1) ------------------------------


def test_a_python_claim_client_grants_one_prize_then_the_next_person_finds_it_exhausted(
    open_reach, data_dir
):
    r = open_reach(data_dir)
    client = StockClaimClient(prizes=1)
    presenter = RecordingPresenter()
    r.load_rule_pack(PRIZE_PACK)
    assert r.set_claim_client(client) is None
    r.set_popup_presenter(presenter)

    r.track("purchase", {"amount": PV.INT_VALUE(120)})
    popup = presenter.next("the prize popup")[0]
    assert popup.campaign_id == PRIZE_CAMPAIGN
    assert popup.title == "A golden week gift for you"
    claims, releases = client.snapshot()
    assert len(claims) == 1
    campaign_id, first_person, first_key, thread_name = claims[0]
    assert campaign_id == PRIZE_CAMPAIGN
    assert first_key and first_person
    assert thread_name != threading.main_thread().name
    r.popup_shown(popup.offer_id)
    r.popup_clicked(popup.offer_id, "claim")
    e = explain_until(r, PRIZE_CAMPAIGN, lambda e: e.impressions == 1, "the impression")
    assert any("prize claimed (claim prize-1)" in x for x in e.reasons), e.text

    # A second person: the stock is gone, nothing is shown.
    r.reset()
    r.track("purchase", {"amount": PV.INT_VALUE(80)})
    e = explain_until(
        r, PRIZE_CAMPAIGN,
        lambda e: any("the stock is exhausted: no popup" in x for x in e.reasons),
        "the exhausted answer",
    )
    assert e.outcome == "not offered"  # the engine chose it; the claim said no
    claims, releases = client.snapshot()
    assert len(claims) == 2
    assert claims[1][1] != first_person, "reset() gives a new person id"
    assert claims[1][2] != first_key, "a new claim has a new idempotency key"
    assert presenter.poll(0.2) is None
    assert presenter.calls == 1
    assert releases == []
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (6, 1)
    r.close()
    # The second person reached the exposure point too (offered), then the stock said no.
    assert [ev["name"] for ev in db_events(data_dir)] == [
        "purchase", "reach.popup.offered", "reach.popup.shown", "reach.popup.clicked",
        "purchase", "reach.popup.offered",
    ]


def test_discarding_a_prize_popup_releases_it_with_the_claims_key(open_reach, data_dir):
    r = open_reach(data_dir)
    client = StockClaimClient(prizes=1)
    presenter = RecordingPresenter(reach.PresenterDecision.DISCARD())
    r.load_rule_pack(PRIZE_PACK)
    r.set_claim_client(client)
    r.set_popup_presenter(presenter)
    r.track("purchase", {})
    presenter.next("the prize popup (discarded)")
    wait_for(lambda: client.snapshot()[1], "the release after the discard")
    claims, releases = client.snapshot()
    assert [(c, k) for (c, k, _) in releases] == [(PRIZE_CAMPAIGN, claims[0][2])]
    assert releases[0][2] != threading.main_thread().name
    # The prize is back and nothing was counted: the next purchase claims and shows it.
    r.track("purchase", {})
    assert presenter.next("the popup after the discard")[0].campaign_id == PRIZE_CAMPAIGN
    claims, _ = client.snapshot()
    assert len(claims) == 2 and claims[1][2] != claims[0][2]


def test_a_claim_client_that_raises_is_unavailable_and_offline_skip_shows_nothing(
    open_reach, data_dir
):
    calls = []

    class Raising(reach.ClaimClient):
        def claim(self, campaign_id, person_id, idempotency_key):
            calls.append(idempotency_key)
            raise ConnectionError("prize backend unreachable")

        def release(self, campaign_id, idempotency_key):
            raise reach.CallbackError.Failed("release failed too")

    sink = CollectingSink()
    r = open_reach(data_dir, sink=sink)
    r.load_rule_pack(PRIZE_PACK)
    r.set_claim_client(Raising())
    presenter = RecordingPresenter()
    r.set_popup_presenter(presenter)
    r.track("purchase", {})
    e = explain_until(r, PRIZE_CAMPAIGN, lambda e: "offline, claim required" in e.text,
                      "the unavailable claim")
    assert e.outcome == "not offered"  # chosen, then no claim answer (offline policy skip)
    assert len(calls) == 1
    assert presenter.poll(0.2) is None
    assert r.diagnostics().popups_offered == 0
    # Reach releases the key (the lost answer may have been a prize); the failure is logged.
    wait_for(lambda: any("release failed too" in m for m in sink.messages(reach.LogLevel.WARN)),
             "the failed release in the log")
    # Without a client the offline policy applies too.
    r.set_claim_client(None)
    r.track("purchase", {})
    assert flushed(r).stored == 4  # two purchases, each with its offer point
    assert presenter.poll(0.2) is None


def test_explain_an_unknown_campaign(open_reach, data_dir):
    r = open_reach(data_dir)
    r.load_rule_pack(BIG_SPENDER_PACK)
    e = r.explain("no-such-campaign")
    assert isinstance(e, reach.CampaignExplanation)
    assert (e.campaign_id, e.in_pack, e.outcome) == ("no-such-campaign", False, "not in the active pack")
    assert (e.last_event, e.last_event_at_ms, e.variant) == (None, None, None)
    assert (e.pending_delay_due_ms, e.pending_delay_expires_ms, e.impressions) == (None, None, 0)
    assert e.text.startswith("Campaign no-such-campaign: not in the active pack.")
    assert r.explain("big-spender").outcome == "no matching event yet"


def test_explain_names_the_failed_property_and_its_value(open_reach, data_dir):
    r = open_reach(data_dir)
    r.load_rule_pack(BIG_SPENDER_PACK)
    r.set_popup_presenter(RecordingPresenter())
    r.track("purchase", {"amount": PV.INT_VALUE(50)})
    # explain() waits for the worker: the purchase tracked before it is taken into account.
    e = r.explain("big-spender")
    assert (e.in_pack, e.outcome, e.last_event) == (True, "not offered", "purchase")
    assert isinstance(e.last_event_at_ms, int)
    reasons = [x for x in e.reasons if "amount" in x]
    assert reasons and "50" in reasons[0], e.reasons
    assert reasons[0] in e.text
    assert r.diagnostics().popups_offered == 0


def test_explain_after_close_raises_closed_in_strict_mode(open_reach, tmp_path):
    r = open_reach(tmp_path / "strict", strict=True)
    r.close()
    with pytest.raises(reach.ReachError.Closed):
        r.explain("any")
    with pytest.raises(reach.ReachError.Closed):
        r.set_claim_client(None)


def test_a_holdout_control_arm_records_reach_popup_control_and_shows_nothing(open_reach, data_dir):
    r = open_reach(data_dir)
    r.load_rule_pack(HOLDOUT_PACK)
    presenter = RecordingPresenter()
    r.set_popup_presenter(presenter)
    r.track("view_item", {"sku": PV.STRING_VALUE("vip")})
    e = explain_until(r, "vip-upsell", lambda e: e.impressions == 1, "the control exposure")
    assert e.variant == "control"
    assert presenter.poll(0.2) is None
    d = flushed(r)
    assert (d.stored, d.popups_offered) == (2, 0)
    r.close()
    events = db_events(data_dir)
    assert [ev["name"] for ev in events] == ["view_item", "reach.popup.control"]
    control = events[1]["props"]
    assert (control["campaign_id"], control["variant"]) == ("vip-upsell", "control")
    assert control["offer_id"]
