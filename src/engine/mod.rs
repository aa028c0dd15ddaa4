//! The trigger engine: decides, on the device and offline, which campaign (if
//! any) an event should offer.
//!
//! Pure logic over facts passed in (the event, the person, the device, the
//! time from the injected clock) and state it keeps in memory (counters,
//! impression histories); the worker persists that state through the store
//! in the same group commit as the events. So tests and the simulator replay
//! traces on virtual time, deterministically.
//!
//! Per event: count it, then look up the campaigns it triggers by name (one
//! hash lookup when none does), and walk them from the highest priority down;
//! the first eligible one is offered and the rest are not queued.

pub mod assignment;
pub mod behaviour;
pub mod caps;
pub mod counters;
pub mod delays;
pub mod sequences;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::rules::{AudienceContext, Campaign, Locale, Platform, RulePack, Version};
use crate::value::{Properties, Value};
use behaviour::Behaviours;
use caps::{Blocked, Calendar, CampaignHistory, GlobalHistory};

/// The device facts an audience is checked against; fixed for a process.
pub struct Device {
    pub app_version: Option<Version>,
    /// `None` for a platform packs cannot name: platform conditions fail.
    pub platform: Option<Platform>,
    pub locale: Locale,
    pub zone: TimeZone,
}

impl Device {
    /// Reads the app's description; unreadable parts are logged by the caller
    /// and fail the conditions that need them.
    pub fn from_app(app: &crate::config::AppInfo) -> (Device, Vec<String>) {
        let mut problems = Vec::new();
        let zone = match TimeZone::get(&app.timezone) {
            Ok(z) => z,
            Err(e) => {
                problems.push(format!(
                    "unknown timezone {:?} ({e}); local-time rules use UTC",
                    app.timezone
                ));
                TimeZone::UTC
            }
        };
        let app_version = Version::parse_lenient(&app.app_version);
        if app_version.is_none() {
            problems.push(format!(
                "app version {:?} is not SemVer; app_version conditions will not match",
                app.app_version
            ));
        }
        let platform = Platform::from_name(&app.platform.to_ascii_lowercase());
        if platform.is_none() {
            problems.push(format!(
                "unknown platform {:?}; platform conditions will not match",
                app.platform
            ));
        }
        (
            Device {
                app_version,
                platform,
                locale: Locale::from_device(&app.locale),
                zone,
            },
            problems,
        )
    }
}

/// The person facts: kept by the worker, passed in per decision.
pub struct Person<'a> {
    pub user_properties: &'a Properties,
    pub identified: bool,
    pub session_id: &'a str,
}

/// Why a triggered campaign was not offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    PropertyFilter,
    NotStarted,
    Ended,
    OutsideLocalHours,
    Audience,
    Behaviour(String),
    Cap(Blocked),
    OfferInFlight,
    /// Another campaign (index into the pack) was offered.
    Outranked {
        by: usize,
    },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::PropertyFilter => f.write_str("the event's properties do not match the trigger"),
            Skip::NotStarted => f.write_str("the campaign has not started"),
            Skip::Ended => f.write_str("the campaign has ended"),
            Skip::OutsideLocalHours => {
                f.write_str("outside the campaign's local hours or weekdays")
            }
            Skip::Audience => f.write_str("the person is not in the audience"),
            Skip::Behaviour(test) => write!(f, "behaviour condition not met: {test}"),
            Skip::Cap(b) => write!(f, "{b}"),
            Skip::OfferInFlight => f.write_str("another popup is being offered"),
            Skip::Outranked { .. } => f.write_str("a campaign with a higher priority was offered"),
        }
    }
}

/// The decision for one event.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    /// The campaign to offer (index into the pack).
    pub offer: Option<usize>,
    /// Triggered campaigns not offered (indexes into the pack), and why.
    pub skipped: Vec<(usize, Skip)>,
}

pub struct TriggerEngine {
    pack: Arc<RulePack>,
    device: Device,
    behaviours: Behaviours,
    histories: HashMap<String, CampaignHistory>,
    dirty_histories: HashSet<String>,
    global: GlobalHistory,
    global_dirty: bool,
}

impl TriggerEngine {
    pub fn new(pack: Arc<RulePack>, device: Device) -> TriggerEngine {
        let mut behaviours = Behaviours::default();
        behaviours.follow(&pack);
        TriggerEngine {
            pack,
            device,
            behaviours,
            histories: HashMap::default(),
            dirty_histories: HashSet::default(),
            global: GlobalHistory::default(),
            global_dirty: false,
        }
    }

    pub fn pack(&self) -> &Arc<RulePack> {
        &self.pack
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Swaps the active pack. Counters and histories stay: they belong to
    /// the person, and a campaign kept across packs keeps its caps.
    pub fn set_pack(&mut self, pack: Arc<RulePack>) {
        self.behaviours.follow(&pack);
        self.pack = pack;
    }

    /// Counts an event and decides what it offers. `offer_in_flight` is true
    /// while another popup is being offered or shown: at most one at a time.
    pub fn on_event(
        &mut self,
        name: &str,
        props: &[(String, Value)],
        ts_ms: i64,
        now_ms: i64,
        person: &Person,
        offer_in_flight: bool,
    ) -> Decision {
        self.behaviours.record(name, props, ts_ms);
        let mut decision = Decision::default();
        let candidates = self.pack.candidates(name);
        if candidates.is_empty() {
            return decision;
        }
        decision.skipped.reserve(candidates.len());
        let pack = self.pack.clone();
        let cal = Calendar::at(now_ms, &self.device.zone);
        let global = caps::global_allows(&pack.limits, &self.global, person.session_id, &cal);
        let tags = tags_of(person.user_properties);
        for &idx in candidates {
            let c = pack.campaign(idx);
            let verdict = if let Some(winner) = decision.offer {
                Err(Skip::Outranked { by: winner })
            } else {
                let busy = if offer_in_flight {
                    Err(Skip::OfferInFlight)
                } else {
                    Ok(())
                };
                self.eligible(c, props, &cal, person, &tags)
                    .and(global.clone().map_err(Skip::Cap))
                    .and(busy)
            };
            match verdict {
                Ok(()) => decision.offer = Some(idx),
                Err(skip) => decision.skipped.push((idx, skip)),
            }
        }
        decision
    }

    fn eligible(
        &self,
        c: &Campaign,
        props: &[(String, Value)],
        cal: &Calendar,
        person: &Person,
        tags: &std::collections::BTreeSet<String>,
    ) -> Result<(), Skip> {
        let (now_ms, local) = (cal.now_ms, &cal.local);
        if !c.trigger.matches(props) {
            return Err(Skip::PropertyFilter);
        }
        if c.schedule.start_ms.is_some_and(|s| now_ms < s) {
            return Err(Skip::NotStarted);
        }
        if c.schedule.has_ended(now_ms) {
            return Err(Skip::Ended);
        }
        if !c.schedule.is_open(now_ms, local) {
            return Err(Skip::OutsideLocalHours);
        }
        if self.device.platform.is_none() && !c.audience.platforms.is_empty() {
            return Err(Skip::Audience);
        }
        let ctx = AudienceContext {
            user_properties: person.user_properties,
            tags,
            app_version: self.device.app_version.as_ref(),
            // Only read when the audience names platforms (checked above).
            platform: self.device.platform.unwrap_or(Platform::Android),
            locale: &self.device.locale,
            identified: person.identified,
        };
        if !c.audience.matches(&ctx) {
            return Err(Skip::Audience);
        }
        if let Some(b) = &c.behaviour {
            let mut failed = None;
            let ok = b.eval(&mut |test| {
                let held = test.holds(self.behaviours.observe(
                    &test.measure,
                    now_ms,
                    &self.device.zone,
                ));
                if !held && failed.is_none() {
                    failed = Some(test.to_string());
                }
                held
            });
            if !ok {
                return Err(Skip::Behaviour(failed.unwrap_or_default()));
            }
        }
        let history = self.histories.get(&c.id).unwrap_or(&caps::NO_HISTORY);
        caps::campaign_allows(&c.frequency, history, cal).map_err(Skip::Cap)
    }

    /// The host reported the popup shown (or the offer timed out, which
    /// counts as shown): caps count it.
    pub fn record_impression(&mut self, campaign_id: &str, at_ms: i64, session_id: &str) {
        let h = self.histories.entry(campaign_id.to_owned()).or_default();
        h.prune(at_ms);
        h.record_impression(at_ms);
        self.dirty_histories.insert(campaign_id.to_owned());
        self.global.prune(at_ms);
        self.global.record_impression(at_ms, session_id);
        self.global_dirty = true;
    }

    pub fn record_dismiss(&mut self, campaign_id: &str, at_ms: i64) {
        self.histories
            .entry(campaign_id.to_owned())
            .or_default()
            .last_dismissed_ms = Some(at_ms);
        self.dirty_histories.insert(campaign_id.to_owned());
    }

    pub fn record_click(&mut self, campaign_id: &str, at_ms: i64) {
        self.histories
            .entry(campaign_id.to_owned())
            .or_default()
            .last_clicked_ms = Some(at_ms);
        self.dirty_histories.insert(campaign_id.to_owned());
    }

    pub fn history(&self, campaign_id: &str) -> Option<&CampaignHistory> {
        self.histories.get(campaign_id)
    }

    pub fn behaviours(&self) -> &Behaviours {
        &self.behaviours
    }

    pub fn behaviours_mut(&mut self) -> &mut Behaviours {
        &mut self.behaviours
    }

    pub fn restore_history(&mut self, campaign_id: String, h: CampaignHistory) {
        self.histories.insert(campaign_id, h);
    }

    pub fn restore_global(&mut self, g: GlobalHistory) {
        self.global = g;
    }

    /// Changed histories since the last call, for the store.
    pub fn take_dirty_histories(
        &mut self,
    ) -> (Vec<(String, CampaignHistory)>, Option<GlobalHistory>) {
        let histories = self
            .dirty_histories
            .drain()
            .filter_map(|id| self.histories.get(&id).map(|h| (id, h.clone())))
            .collect();
        let global = std::mem::take(&mut self.global_dirty).then(|| self.global.clone());
        (histories, global)
    }

    /// A new person (after `reset()`): no counters, no caps.
    pub fn clear_person(&mut self) {
        self.behaviours.clear();
        self.histories.clear();
        self.dirty_histories.clear();
        self.global = GlobalHistory::default();
        self.global_dirty = false;
    }
}

/// Tags are the user property `tags`, a list of strings.
fn tags_of(props: &Properties) -> std::collections::BTreeSet<String> {
    match props.get("tags") {
        Some(Value::StringList(l)) => l.iter().cloned().collect(),
        _ => Default::default(),
    }
}
