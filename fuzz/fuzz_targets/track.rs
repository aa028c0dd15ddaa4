//! The facade's `track` input (src/facade, src/validate.rs): any event name
//! and properties, converted from the bindings' `PropertyValue`s, through
//! the direct calls of a strict instance and the wrappers' `apply_calls`
//! batch of a lenient one (with every kind of queued call and any
//! timestamp), both running the engine over a full rule pack. Nothing
//! panics on the caller's thread or on Reach's own threads (libFuzzer's
//! panic hook aborts on either); the strict instance refuses exactly the
//! events validation refuses; an accepted event's properties serialise
//! within the size limit and read back whole.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use reach::facade::{AppInfo, Consent, PropertyValue, QueuedCall, Reach, ReachConfig};
use reach::validate::{check_name, check_properties, MAX_PROPERTIES_JSON_BYTES};
use reach::value::properties_to_json;
use reach::Value;

#[derive(Arbitrary, Debug, Clone)]
enum Property {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Timestamp(i64),
    List(Vec<String>),
    Unsupported(String),
}

impl From<Property> for PropertyValue {
    fn from(p: Property) -> PropertyValue {
        match p {
            Property::String(value) => PropertyValue::StringValue { value },
            Property::Int(value) => PropertyValue::IntValue { value },
            Property::Float(value) => PropertyValue::FloatValue { value },
            Property::Bool(value) => PropertyValue::BoolValue { value },
            Property::Timestamp(epoch_ms) => PropertyValue::TimestampValue { epoch_ms },
            Property::List(values) => PropertyValue::StringListValue { values },
            Property::Unsupported(type_name) => PropertyValue::UnsupportedValue { type_name },
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Call {
    Track(String, Vec<(String, Property)>, i64),
    Screen(String, Vec<(String, Property)>, i64),
    Identify(String, i64),
    SetUserProperties(Vec<(String, Property)>, i64),
    UnsetUserProperties(Vec<String>),
    Reset(i64),
    Foreground(i64),
    Background(i64),
    /// Consent is only ever granted or pending here: denied stops recording,
    /// and the rest of the run would test nothing.
    Pending(bool),
}

fn map(props: &[(String, Property)]) -> HashMap<String, PropertyValue> {
    props
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect()
}

struct Instances {
    strict: Arc<Reach>,
    lenient: Arc<Reach>,
    _dir: tempfile::TempDir,
}

fn open(dir: &std::path::Path, strict: bool) -> Arc<Reach> {
    Reach::new(
        ReachConfig {
            data_dir: dir.to_string_lossy().into_owned(),
            app: AppInfo {
                app_version: "1.0.0".into(),
                build: String::new(),
                platform: "android".into(),
                os_version: "14".into(),
                locale: "zh-CN".into(),
                timezone: "Asia/Shanghai".into(),
            },
            consent: Consent::Granted,
            // A small queue: the fuzzer tracks far faster than the worker
            // stores, and each queued event may hold 32 KB.
            max_queued_events: 1_000,
            max_queued_bytes: 1024 * 1024,
            strict,
            record_app_open: true,
            session_timeout_ms: 1_800_000,
            flush_timeout_ms: 1_000,
            bundled_rule_pack: Some(
                include_str!("../../tests/fixtures/packs/every-field-1.1.json").into(),
            ),
            server_url: None,
            write_key: String::new(),
            pack_public_keys: Vec::new(),
            pack_name: "default".into(),
            upload_flush_at: 20,
            upload_interval_ms: 30_000,
            upload_max_batch_bytes: 512_000,
            upload_max_batch_events: 500,
            min_pack_interval_ms: 600_000,
            request_timeout_ms: 30_000,
            http_transport: None,
            app_url_schemes: vec!["app".into()],
            images_without_consent: false,
        },
        None,
    )
    .expect("Reach opens in a fresh directory")
}

fn instances() -> &'static Instances {
    static INSTANCES: OnceLock<Instances> = OnceLock::new();
    INSTANCES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("strict")).unwrap();
        std::fs::create_dir(dir.path().join("lenient")).unwrap();
        Instances {
            strict: open(&dir.path().join("strict"), true),
            lenient: open(&dir.path().join("lenient"), false),
            _dir: dir,
        }
    })
}

/// What validation says of an event, checked against what it promises.
fn accepted(name: &str, props: &HashMap<String, PropertyValue>) -> bool {
    let values: Vec<(String, Value)> = props
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    let ok =
        check_name(name).is_ok() && check_properties(values.iter().map(|(k, v)| (k, v))).is_ok();
    if ok {
        let json = properties_to_json(&values);
        assert!(
            json.len() <= MAX_PROPERTIES_JSON_BYTES,
            "accepted properties serialise to {} bytes: {json:.200}",
            json.len()
        );
        let back: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(back.as_object().map(|o| o.len()), Some(values.len()));
    }
    ok
}

fuzz_target!(|calls: Vec<Call>| {
    let reach = instances();
    let mut queued = Vec::new();
    for call in calls {
        match call {
            Call::Track(name, props, at) => {
                let props = map(&props);
                let ok = accepted(&name, &props);
                let direct = reach.strict.track(name.clone(), props.clone());
                assert_eq!(direct.is_ok(), ok, "strict track({name:?}): {direct:?}");
                queued.push(QueuedCall::Track {
                    name,
                    properties: props,
                    timestamp_ms: at,
                });
            }
            Call::Screen(name, props, at) => {
                let props = map(&props);
                let ok = accepted(&name, &props);
                let direct = reach.strict.screen(name.clone(), props.clone());
                assert_eq!(direct.is_ok(), ok, "strict screen({name:?}): {direct:?}");
                queued.push(QueuedCall::Screen {
                    name,
                    properties: props,
                    timestamp_ms: at,
                });
            }
            Call::Identify(user_id, at) => queued.push(QueuedCall::Identify {
                user_id,
                timestamp_ms: at,
            }),
            Call::SetUserProperties(props, at) => queued.push(QueuedCall::SetUserProperties {
                properties: map(&props),
                timestamp_ms: at,
            }),
            Call::UnsetUserProperties(keys) => {
                queued.push(QueuedCall::UnsetUserProperties { keys })
            }
            Call::Reset(at) => queued.push(QueuedCall::Reset { timestamp_ms: at }),
            Call::Foreground(at) => queued.push(QueuedCall::Foreground { timestamp_ms: at }),
            Call::Background(at) => queued.push(QueuedCall::Background { timestamp_ms: at }),
            Call::Pending(pending) => queued.push(QueuedCall::SetConsent {
                consent: if pending {
                    Consent::Pending
                } else {
                    Consent::Granted
                },
            }),
        }
    }
    reach.lenient.apply_calls(queued);
});
