//! The batch decoder's behaviour: what is stored, what is refused and why, by index.

use super::*;
use serde_json::json;

fn track(id: &str) -> Value {
    json!({"type": "track", "event": "e", "messageId": id, "timestamp": "2026-11-24T05:10:44.123Z",
           "properties": {"campaign_id": "c1"}})
}

fn body(events: Vec<Value>) -> Vec<u8> {
    json!({"batch": events, "sentAt": "2026-11-24T05:10:44.123Z"})
        .to_string()
        .into_bytes()
}

#[test]
fn basic_credentials_are_matched_by_their_user_part() {
    let keys = vec!["wk1".to_string()];
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("wk1:")
    );
    assert!(authorize(&keys, Some(&header)).is_ok());
    assert_eq!(authorize(&keys, None).unwrap_err().status, 401);
    assert_eq!(
        authorize(&keys, Some("Bearer wk1")).unwrap_err().status,
        401
    );
    assert_eq!(authorize(&keys, Some("Basic !!!")).unwrap_err().status, 401);
    assert!(authorize(&[], None).is_ok());
}

#[test]
fn each_required_field_is_named_by_index_and_the_rest_is_kept() {
    for (field, event) in [
        ("type", json!({"messageId": "m", "timestamp": "t"})),
        ("messageId", json!({"type": "identify", "timestamp": "t"})),
        ("timestamp", json!({"type": "identify", "messageId": "m"})),
        (
            "event",
            json!({"type": "track", "messageId": "m", "timestamp": "t"}),
        ),
        (
            "groupId",
            json!({"type": "group", "messageId": "m", "timestamp": "t"}),
        ),
        (
            "previousId",
            json!({"type": "alias", "userId": "u", "messageId": "m", "timestamp": "t"}),
        ),
    ] {
        let b = body(vec![track("ok"), event, track("ok2")]);

        let d = decode(&b).unwrap();
        assert_eq!(d.events.len(), 2, "{field}");
        assert_eq!(d.refused.len(), 1, "{field}");
        assert_eq!(d.refused[0].index, 1);
        assert!(
            d.refused[0]
                .message
                .contains(&format!("batch[1]: missing \"{field}\"")),
            "{}",
            d.refused[0].message
        );
    }
}

#[test]
fn all_six_call_types_are_accepted_and_pages_and_screens_may_be_unnamed() {
    let events = vec![
        track("t"),
        json!({"type": "identify", "messageId": "i", "timestamp": "t", "traits": {"plan": "pro"}}),
        json!({"type": "screen", "messageId": "s", "timestamp": "t", "name": "Home"}),
        json!({"type": "page", "messageId": "p", "timestamp": "t", "name": null, "category": null}),
        json!({"type": "group", "messageId": "g", "timestamp": "t", "groupId": 7}),
        json!({"type": "alias", "messageId": "a", "timestamp": "t", "previousId": "x", "userId": "u"}),
    ];
    let b = body(events);

    let d = decode(&b).unwrap();
    assert_eq!(d.refused, vec![]);
    let kinds: Vec<&str> = d.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, EVENT_TYPES);
    assert_eq!(d.events[2].name.as_deref(), Some("Home"));
    assert_eq!(d.events[3].name, None);
}

#[test]
fn an_unknown_type_and_an_oversized_event_are_refused_alone() {
    let odd = json!({"type": "sneeze", "messageId": "m", "timestamp": "t"});
    let mut big = track("m");
    big["properties"]["blob"] = json!("x".repeat(MAX_EVENT_BYTES));
    let b = body(vec![odd, track("ok"), big, json!(17)]);

    let d = decode(&b).unwrap();
    let indices: Vec<usize> = d.refused.iter().map(|r| r.index).collect();
    assert_eq!(indices, vec![0, 2, 3]);
    assert!(d.refused[0].message.contains("\"sneeze\""));
    assert_eq!(d.events.len(), 1);
    let answer = answer(&d);
    assert_eq!(answer["success"], true);
    assert_eq!(answer["refused"][1]["index"], 2);
    assert_eq!(answer["refused"][1]["code"], "invalid_event");
}

#[test]
fn a_body_that_is_not_a_batch_is_refused_whole() {
    assert_eq!(decode(b"[]").unwrap_err().code, "invalid_batch");
    assert_eq!(decode(b"{").unwrap_err().code, "invalid_json");
}

#[test]
fn a_test_event_belongs_to_no_campaign_but_is_stored_as_sent() {
    let flagged = |id: &str, test: Value| {
        let mut e = track(id);
        e["properties"]["test"] = test;
        e
    };
    let b = body(vec![
        flagged("t1", json!(true)),
        flagged("t2", json!(false)),
        flagged("t3", json!("true")),
        track("t4"),
    ]);
    let d = decode(&b).unwrap();
    let campaigns: Vec<Option<&str>> = d.events.iter().map(|e| e.campaign_id.as_deref()).collect();
    assert_eq!(campaigns, vec![None, Some("c1"), Some("c1"), Some("c1")]);
    let stored: Value = serde_json::from_str(d.events[0].json).unwrap();
    assert_eq!(stored["properties"]["test"], json!(true));
    assert_eq!(stored["properties"]["campaign_id"], json!("c1"));
}

#[test]
fn campaign_id_is_taken_from_properties() {
    let b = body(vec![track("m1")]);

    let events = decode(&b).unwrap().events;
    assert_eq!(events[0].campaign_id.as_deref(), Some("c1"));
    assert_eq!(events[0].name.as_deref(), Some("e"));
}

#[test]
fn duplicates_within_and_across_batches_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::store::open(&crate::store::Database::Sqlite, dir.path()).unwrap();
    let s = &*s;
    let b = body(vec![track("a"), track("b"), track("a")]);

    let first = decode(&b).unwrap();
    assert_eq!(
        store(s, &first).unwrap(),
        Outcome {
            received: 3,
            stored: 2,
            duplicates: 1,
            refused: 0
        }
    );
    let b = body(vec![track("b"), track("c")]);

    let again = decode(&b).unwrap();
    assert_eq!(
        store(s, &again).unwrap(),
        Outcome {
            received: 2,
            stored: 1,
            duplicates: 1,
            refused: 0
        }
    );
    assert_eq!(s.receipts("a").unwrap(), 2);
    assert_eq!(s.receipts("c").unwrap(), 1);
}

/// Events the old decoder (a `Value` tree, re-serialized) handled in every corner: escapes in keys and values,
/// repeated keys, numbers that serde_json writes longer or shorter than they came, non-ASCII, nesting.
const TRICKY: [&str; 12] = [
    r#"{"type":"track","event":"e","messageId":"m","timestamp":"t"}"#,
    r#"  { "type" : "track" ,  "event" : "e", "messageId":"m", "timestamp":"t", "x": [ 1 , 2 ] }"#,
    r#"{"type":"track","event":"e\"q\\b\/s\b\f\n\r\t\u0001\u001f","messageId":"m","timestamp":"t"}"#,
    r#"{"t\u0079pe":"tr\u0061ck","event":"\u00e9\ud83d\ude00","messageId":"m","timestamp":"t"}"#,
    r#"{"type":"track","event":"a","event":"b","messageId":"m","timestamp":"t","a":{"k":1,"k":[2,3]}}"#,
    r#"{"type":"track","event":"e","messageId":"m","timestamp":"t","n":[1e5,1E2,-0,0.1e1,1.50,-7,18446744073709551616,1e300,5e-324]}"#,
    r#"{"type":"track","event":"e","messageId":"m","timestamp":"t","n":[0,-9223372036854775808,18446744073709551615,12.5e-3]}"#,
    r#"{"type":"identify","messageId":"m","timestamp":"t","traits":{},"context":{"a":[],"b":{"c":null}},"z":true,"y":false}"#,
    r#"{"type":"track","event":"e","messageId":"m","timestamp":"t","properties":{"campaign_id":7,"campaign_id":"c2"}}"#,
    r#"{"type":"track","event":"e","messageId":"m","timestamp":"t","properties":{"campaign_id":1e2},"properties":[1]}"#,
    r#"{"":"","\u0000":"\u0000","type":"screen","messageId":"m","timestamp":"t","name":null}"#,
    r#"[1,{"a":"b"},"s",null]"#,
];

/// An object of `n` keys named `k0`… with `k3` repeated at the end (when `n` > 3), so both the pair-by-pair
/// and the sorting check of repeated keys are exercised.
fn wide(n: usize) -> String {
    let mut keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
    if n > 3 {
        keys.push("\"k3\":\"again\"".into());
    }
    format!(
        r#"{{"type":"identify","messageId":"m","timestamp":"t","w":{{{}}}}}"#,
        keys.join(",")
    )
}

#[test]
fn the_compact_length_is_what_serde_json_would_write() {
    let wide: Vec<String> = [0, 1, 4, 31, 32, 33, 100].map(wide).to_vec();
    for raw in TRICKY
        .iter()
        .copied()
        .chain(wide.iter().map(String::as_str))
    {
        let value: Value = serde_json::from_str(raw).unwrap();
        let fields = json::parse_event(raw).unwrap();
        assert_eq!(fields.compact_len, value.to_string().len(), "{raw}");
        assert_eq!(fields.object, value.is_object(), "{raw}");
    }
}

#[test]
fn what_is_stored_is_the_event_as_received_and_reads_back_as_sent() {
    let events: Vec<&str> = TRICKY[..11].to_vec();
    let body = format!(
        "{{\"batch\": [\n  {}\n], \"sentAt\": \"t\"}}",
        events.join(" ,\n ")
    );
    let d = decode(body.as_bytes()).unwrap();
    assert_eq!(d.refused, vec![]);
    for (raw, event) in events.iter().zip(&d.events) {
        assert_eq!(event.json, raw.trim(), "stored byte for byte");
        let sent: Value = serde_json::from_str(raw).unwrap();
        let stored: Value = serde_json::from_str(event.json).unwrap();
        assert_eq!(stored, sent);
    }
    // Fields are read through escapes, and a repeated key's last value wins, as in a `Value`.
    assert_eq!(d.events[3].kind, "track");
    assert_eq!(d.events[3].name.as_deref(), Some("é😀"));
    assert_eq!(d.events[4].name.as_deref(), Some("b"));
    assert_eq!(d.events[8].campaign_id.as_deref(), Some("c2"));
    assert_eq!(
        d.events[9].campaign_id, None,
        "the last `properties` has none"
    );
    assert_eq!(d.events[10].name, None);
}

#[test]
fn unknown_fields_and_nulls_are_kept_as_received() {
    let event = json!({"type": "track", "event": "e", "messageId": "m1", "timestamp": "t",
        "anonymousId": null, "channel": "server", "_metadata": {"bundled": ["Segment.io"]},
        "integrations": {"All": true, "Mixpanel": false}, "context": {"library": {"name": "x"}, "ip": "0.0.0.0"},
        "properties": {"campaign_id": 12, "nested": {"deep": [1, 2.5, "three", null]}}});
    let b = body(vec![event.clone()]);
    let d = decode(&b).unwrap();
    let stored: Value = serde_json::from_str(d.events[0].json).unwrap();
    assert_eq!(stored, event);
    assert_eq!(d.events[0].campaign_id.as_deref(), Some("12"));
}

#[test]
fn a_numeric_campaign_id_is_kept_as_serde_json_writes_the_number() {
    for (raw, want) in [("7", "7"), ("-3", "-3"), ("1.5", "1.5"), ("1e2", "100.0")] {
        let body = format!(
            r#"{{"batch":[{{"type":"track","event":"e","messageId":"m","timestamp":"t","properties":{{"campaign_id":{raw}}}}}]}}"#
        );
        let d = decode(body.as_bytes()).unwrap();
        assert_eq!(d.events[0].campaign_id.as_deref(), Some(want), "{raw}");
    }
    // Not a string or a number, or a string with U+0000: no campaign.
    for raw in ["true", "null", "[]", "{}", r#""a\u0000""#] {
        let body = format!(
            r#"{{"batch":[{{"type":"track","event":"e","messageId":"m","timestamp":"t","properties":{{"campaign_id":{raw}}}}}]}}"#
        );
        assert_eq!(
            decode(body.as_bytes()).unwrap().events[0].campaign_id,
            None,
            "{raw}"
        );
    }
}

#[test]
fn non_object_entries_are_refused_by_index_among_good_ones() {
    let b = body(vec![
        json!(17),
        track("ok1"),
        json!("track"),
        json!(null),
        json!([track("inner")]),
        json!(true),
        track("ok2"),
    ]);
    let d = decode(&b).unwrap();
    let indices: Vec<usize> = d.refused.iter().map(|r| r.index).collect();
    assert_eq!(indices, vec![0, 2, 3, 4, 5]);
    for r in &d.refused {
        assert_eq!(
            r.message,
            format!("batch[{}]: an event must be a JSON object", r.index)
        );
    }
    let ids: Vec<&str> = d.events.iter().map(|e| e.message_id.as_ref()).collect();
    assert_eq!(ids, vec!["ok1", "ok2"]);
}

#[test]
fn fields_of_the_wrong_shape_are_refused_with_their_reason() {
    let cases = [
        (
            json!({"type": "", "messageId": "m", "timestamp": "t"}),
            "\"type\" must be a non-empty string",
        ),
        (
            json!({"type": "identify", "messageId": 5, "timestamp": "t"}),
            "\"messageId\" must be a non-empty string",
        ),
        (
            json!({"type": "identify", "messageId": null, "timestamp": "t"}),
            "\"messageId\" must be a non-empty string",
        ),
        (
            json!({"type": "identify", "messageId": "a\u{0}b", "timestamp": "t"}),
            "\"messageId\" must not contain U+0000",
        ),
        (
            json!({"type": "identify", "messageId": "m", "timestamp": ["t"]}),
            "\"timestamp\" must be a non-empty string",
        ),
        (
            json!({"type": "screen", "messageId": "m", "timestamp": "t", "name": 3}),
            "\"name\" must be a non-empty string",
        ),
        (
            json!({"type": "group", "messageId": "m", "timestamp": "t", "groupId": ""}),
            "\"groupId\" must be a non-empty string",
        ),
        (
            json!({"type": "alias", "messageId": "m", "timestamp": "t", "previousId": 1}),
            "missing \"userId\"",
        ),
        (
            json!({"type": "TRACK", "messageId": "m", "timestamp": "t"}),
            "type \"TRACK\" is not one of",
        ),
    ];
    for (event, why) in cases {
        let b = body(vec![track("ok"), event.clone()]);
        let d = decode(&b).unwrap();
        assert_eq!(d.events.len(), 1, "{event}");
        assert_eq!(d.refused[0].index, 1);
        assert!(
            d.refused[0]
                .message
                .starts_with(&format!("batch[1]: {why}")),
            "{}",
            d.refused[0].message
        );
    }
}

#[test]
fn escaped_keys_and_values_are_read_unescaped() {
    let raw = r#"{"batch":[{"typ\u0065":"track","\u0065vent":"a\"b\\c\u00e9","messageId":"id\/1","timestamp":"t"}]}"#;
    let d = decode(raw.as_bytes()).unwrap();
    assert_eq!(d.refused, vec![]);
    let e = &d.events[0];
    assert_eq!((e.kind, e.message_id.as_ref()), ("track", "id/1"));
    assert_eq!(e.name.as_deref(), Some("a\"b\\cé"));
    // An escaped `batch` key is still the batch.
    let raw = r#"{"b\u0061tch":[{"type":"identify","messageId":"m","timestamp":"t"}]}"#;
    assert_eq!(decode(raw.as_bytes()).unwrap().events.len(), 1);
}

#[test]
fn duplicate_message_ids_in_one_batch_are_all_decoded_and_stored_once() {
    let b = body(vec![track("a"), track("a"), track("b"), track("a")]);
    let d = decode(&b).unwrap();
    assert_eq!(d.events.len(), 4, "deduplication is the store's job");
    let dir = tempfile::tempdir().unwrap();
    let s = crate::store::open(&crate::store::Database::Sqlite, dir.path()).unwrap();
    let outcome = store(&*s, &d).unwrap();
    assert_eq!((outcome.stored, outcome.duplicates), (2, 2));
    assert_eq!(s.receipts("a").unwrap(), 3);
}

/// A track event padded with a string property to exactly `len` bytes of compact JSON.
fn sized(id: &str, len: usize) -> Value {
    let mut e = json!({"type": "track", "event": "e", "messageId": id, "timestamp": "t", "properties": {"pad": ""}});
    let pad = len - e.to_string().len();
    e["properties"]["pad"] = json!("x".repeat(pad));
    assert_eq!(e.to_string().len(), len);
    e
}

#[test]
fn the_size_limit_is_on_the_compact_form_to_the_byte() {
    let at = sized("at", MAX_EVENT_BYTES);
    let over = sized("over", MAX_EVENT_BYTES + 1);
    let b = body(vec![at.clone(), over]);
    let d = decode(&b).unwrap();
    assert_eq!(d.events.len(), 1);
    assert_eq!(d.refused[0].index, 1);
    assert_eq!(
        d.refused[0].message,
        format!(
            "batch[1]: event is {} bytes, more than {MAX_EVENT_BYTES}",
            MAX_EVENT_BYTES + 1
        )
    );
    // Whitespace as received does not count: the same event pretty-printed is longer, and still accepted.
    let pretty = format!(
        "{{\"batch\": [{}]}}",
        serde_json::to_string_pretty(&at).unwrap()
    );
    assert!(pretty.len() > MAX_EVENT_BYTES + 20);
    assert_eq!(decode(pretty.as_bytes()).unwrap().events.len(), 1);
    // Numbers serde_json writes longer than they came (1e15 → 1000000000000000.0) count at their written size.
    let n = MAX_EVENT_BYTES / 19;
    let numbers = vec!["1e15"; n].join(",");
    let raw = format!(
        r#"{{"batch":[{{"type":"identify","messageId":"m","timestamp":"t","n":[{numbers}]}}]}}"#
    );
    assert!(raw.len() < MAX_EVENT_BYTES);
    let d = decode(raw.as_bytes()).unwrap();
    assert_eq!(d.refused.len(), 1, "compact form is over the limit");
}

#[test]
fn what_a_value_tree_refused_refuses_the_whole_body() {
    let event = |inner: &str| {
        format!(
            r#"{{"batch":[{{"type":"identify","messageId":"m","timestamp":"t"}},{{"type":"identify","messageId":"n","timestamp":"t","x":{inner}}}]}}"#
        )
    };
    for inner in [
        r#""\ud800""#,
        r#""\udc00x""#,
        "1e400",
        "-1e400",
        "01",
        "[1,]",
        r#""\x""#,
        "nul",
    ] {
        let body = event(inner);
        assert!(serde_json::from_str::<Value>(&body).is_err(), "{inner}");
        assert_eq!(
            decode(body.as_bytes()).unwrap_err().code,
            "invalid_json",
            "{inner}"
        );
    }
    assert_eq!(
        decode(b"{\"batch\": [] } x").unwrap_err().code,
        "invalid_json"
    );
    assert_eq!(
        decode(b"{\"batch\": \"\xff\"}").unwrap_err().code,
        "invalid_json"
    );
    assert_eq!(
        decode(br#"{"batch": [], "sentAt": "\ud800"}"#)
            .unwrap_err()
            .code,
        "invalid_json"
    );
}

#[test]
fn nesting_is_limited_where_serde_json_limits_it_in_the_whole_body() {
    for depth in [100, 123, 124, 125, 126, 130] {
        let inner = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let body = format!(
            r#"{{"batch":[{{"type":"identify","messageId":"m","timestamp":"t","x":{inner}}}]}}"#
        );
        let value_ok = serde_json::from_str::<Value>(&body).is_ok();
        match decode(body.as_bytes()) {
            Ok(d) => assert!(value_ok && d.events.len() == 1, "depth {depth}"),
            Err(e) => assert!(!value_ok && e.code == "invalid_json", "depth {depth}"),
        }
    }
}

#[test]
fn the_last_batch_key_wins_and_other_shapes_are_not_a_batch() {
    let raw = r#"{"batch":[17],"batch":[{"type":"identify","messageId":"m","timestamp":"t"}]}"#;
    let d = decode(raw.as_bytes()).unwrap();
    assert_eq!((d.events.len(), d.refused.len()), (1, 0));
    for raw in [
        r#"{"batch":[],"batch":{}}"#,
        r#"{"batch":null}"#,
        "17",
        r#""s""#,
        "[[]]",
        "{}",
    ] {
        assert_eq!(
            decode(raw.as_bytes()).unwrap_err().code,
            "invalid_batch",
            "{raw}"
        );
    }
}

#[test]
fn gzip_and_plain_bodies_decode_alike() {
    use std::io::Write;
    let b = body(vec![track("g1"), json!(3)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&b).unwrap();
    let gz = gz.finish().unwrap();
    let inflated = inflate(&gz, true).unwrap();
    assert_eq!(decode(&inflated).unwrap(), decode(&b).unwrap());
    assert_eq!(
        inflate(&vec![b' '; MAX_BODY + 1], false).unwrap_err().code,
        "too_large"
    );
}
