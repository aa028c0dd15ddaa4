//! Rule packs: the versioned JSON documents that tell Reach which popups to
//! offer, for which events, to whom, when and how often.
//!
//! This module turns pack text into a validated [`RulePack`] and answers the
//! questions that need no state: does a predicate match these properties, is
//! this person in the audience, is the schedule open at this local time. It
//! never touches the store, the clock or the network; the trigger engine owns
//! state (counters, impressions) and passes facts in. The format itself is
//! documented in `docs/rule-pack.md`, with a JSON Schema in
//! `schema/rule-pack.schema.json`.
//!
//! Parsing is all or nothing: a pack with any error is refused whole, with
//! errors naming the path of each offending field
//! (`campaigns[3].trigger.where[1].op: unknown operator "gtx"`).
//!
//! The unknown-key rule: every object of the format has a closed set of keys,
//! plus descriptive keys that are ignored whatever they hold — `label`,
//! `description`, `notes`, `meta` and any key starting with `x-`
//! ([`DESCRIPTIVE_KEYS`], [`DESCRIPTIVE_PREFIX`]). Any other key is an error,
//! because a silently dropped condition would widen a campaign's audience.
//! Maps whose keys are data (a popup's `payload`, translations, a tracked
//! event's `properties`) accept any key.
//!
//! # What the trigger engine calls
//! - [`RulePack::parse`] on `loadRulePack(json)`; keep the old pack on error.
//! - [`RulePack::candidates`] per event: the indexes of the enabled campaigns it
//!   triggers, best first, so the first eligible one is the popup to offer (a
//!   sequence campaign is a candidate for each of its steps' events).
//! - [`RulePack::cancelled_by`] and [`RulePack::goals_for`] per event: the
//!   campaigns whose pending delay it may cancel, and those it may convert for
//!   ([`EventMatch::matches`], [`Goal::matches`] test the properties).
//! - Per candidate, cheapest first: [`Trigger::matches`] (event properties),
//!   [`Schedule::is_open`] and [`GlobalLimits::is_quiet`] (with a
//!   [`LocalTime`] from [`LocalTime::at`]), [`Audience::matches`] (with an
//!   [`AudienceContext`]: [`Version::parse_lenient`], [`Platform::from_name`],
//!   [`Locale::from_device`]), then [`Campaign::behaviour`] through
//!   [`Condition::eval`], answering each [`BehaviourTest`] from the counters
//!   with an [`Observation`] ([`BehaviourTest::holds`]); then
//!   [`Campaign::frequency`] and [`RulePack::limits`] against its impression
//!   history.
//! - [`RulePack::measures`] and [`Measure::series_key`] to know which filtered
//!   counters a pack needs.
//! - [`Text::resolve`] to pick a popup's texts for the device's locale.
//!
//! The JSON is read through a small arena document of its own (`json`), not
//! `serde_json::Value`: see that module for why.

mod audience;
mod behaviour;
mod campaign;
mod condition;
mod duration;
mod error;
mod experiment;
mod format;
mod frequency;
mod index;
mod instant;
mod inventory;
mod json;
mod limits;
mod local_time;
mod locale;
mod names;
mod notification;
mod pack;
mod popup;
mod predicate;
mod reader;
mod schedule;
mod test_persons;
pub mod text_template;
mod timing;
mod version;

use std::sync::LazyLock;

pub use audience::{Audience, AudienceContext, Platform, TagTest};
pub use behaviour::{
    Behaviour, BehaviourTest, Check, Measure, Observation, Relation, MAX_WINDOW, MIN_WINDOW,
};
pub use campaign::{
    Campaign, Delay, EventMatch, Goal, InactiveCampaign, Inventory, OfflinePolicy, SequenceStep,
    Trigger, Variant, Variants,
};
pub use condition::{Condition, MAX_CONDITIONS_PER_LIST, MAX_CONDITION_DEPTH};
pub use duration::{Duration, MAX_DURATION};
pub use error::{FieldError, PackError, MAX_REPORTED_ERRORS};
pub use experiment::{
    GlobalHoldout, GLOBAL_HOLDOUT_VARIANT, MAX_ARMS, MAX_GLOBAL_HOLDOUT_PERCENT, MAX_GOAL_WINDOW,
    MAX_WEIGHT, MIN_ARMS, MIN_GOAL_WINDOW,
};
pub use format::{FormatVersion, FORMAT_MAJOR, FORMAT_MINOR};
pub use frequency::{Frequency, Period, PeriodCap, Reeligibility};
pub use index::TriggerIndex;
pub use limits::GlobalLimits;
pub use local_time::{DailyWindow, LocalTime, TimeOfDay, Weekdays};
pub use locale::Locale;
pub use names::{MAX_ID_LEN, MAX_NAME_LEN};
pub use notification::LocalNotification;
pub use pack::{Acceptance, RulePack, MAX_CAMPAIGNS, MAX_PACK_BYTES};
pub use popup::{
    Action, Button, ImageMissing, Popup, Template, Text, MAX_BUTTONS, RESERVED_EVENT_PREFIX,
};
pub use predicate::{
    Comparison, Number, Ordered, Predicate, PropertyLookup, PropertyTest, Scalar, ScalarSet, Test,
    MAX_SET_LEN,
};
pub use reader::{is_descriptive_key, DESCRIPTIVE_KEYS, DESCRIPTIVE_PREFIX};
pub use schedule::Schedule;
pub use test_persons::{TestPersons, MAX_TEST_PERSONS, MAX_TEST_PERSON_ID_CHARS};
pub use timing::{
    DEFAULT_EXPIRE_AFTER, DEFAULT_REPLAY, MAX_CANCEL_ON, MAX_DELAY, MAX_REPLAY, MAX_SEQUENCE_STEPS,
    MAX_STEP_WITHIN, MIN_DELAY, MIN_EXPIRE_AFTER, MIN_SEQUENCE_STEPS, MIN_STEP_WITHIN,
};
pub use version::{Version, VersionRange};

/// Whether the bundled tz database knows this IANA zone name (tools check a
/// zone before handing it to `Tracker::set_timezone`, which keeps the old
/// zone and logs on an unknown one).
pub fn is_known_timezone(name: &str) -> bool {
    jiff::tz::TimeZone::get(name).is_ok()
}

/// This SDK's version, against which campaigns' `min_sdk` is compared.
pub fn sdk_version() -> &'static Version {
    static SDK_VERSION: LazyLock<Version> = LazyLock::new(|| {
        Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is SemVer")
    });
    &SDK_VERSION
}
