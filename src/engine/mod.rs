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
mod due;
mod eligibility;
mod exposures;
mod notifications;
pub mod sequences;
pub mod timeline;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::rules::{Locale, Platform, RulePack, Version};
use crate::value::{Properties, Value};
use assignment::Assignment;
use behaviour::Behaviours;
use caps::{Blocked, Calendar, CampaignHistory, GlobalHistory};
use delays::{Delays, PendingDelay};
use eligibility::{VerdictBuffers, Verdicts};
use sequences::{Sequences, Step};

/// The device facts an audience is checked against; fixed for a process,
/// except the timezone, which the host refreshes at each foreground.
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
    /// The server's segments for this person; `None` until the server has
    /// answered for them (then `segments` audience tests fail).
    pub segments: Option<&'a std::collections::BTreeSet<String>>,
    /// One of the pack's `test_persons`: paused and not yet started
    /// campaigns are eligible, caps and global limits do not hold.
    pub test: bool,
}

/// Why a triggered campaign was not offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    PropertyFilter,
    NotStarted,
    Ended,
    OutsideLocalHours,
    Audience,
    /// A behaviour condition failed: the condition, and what the counters
    /// showed when it was judged ("the count was 1"), so `explain()` can say
    /// how far the person is from it.
    Behaviour {
        test: String,
        observed: String,
    },
    Cap(Blocked),
    OfferInFlight,
    /// Another campaign (index into the pack) was offered.
    Outranked {
        by: usize,
    },
    /// A delayed popup of this campaign is already pending.
    DelayPending {
        due_ms: i64,
    },
    /// The person already received the campaign's prizes.
    PrizeLimit {
        max: u32,
    },
    /// A sequence step that is not the last: progress was kept.
    SequenceStep {
        done: usize,
        of: usize,
    },
    /// The campaign left the pack while its delay was pending.
    NotInPack,
}

impl Skip {
    /// Whether a pending delay blocked by this may still be offered later
    /// (before it expires): quiet hours pass, another popup closes.
    pub fn is_transient(&self) -> bool {
        match self {
            Skip::OutsideLocalHours | Skip::OfferInFlight => true,
            Skip::Cap(b) => !matches!(
                b,
                Blocked::TotalCap { .. } | Blocked::DismissedForever | Blocked::Clicked
            ),
            _ => false,
        }
    }
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
            Skip::Behaviour { test, observed } => {
                write!(f, "behaviour condition not met: {test}; {observed}")
            }
            Skip::Cap(b) => write!(f, "{b}"),
            Skip::OfferInFlight => f.write_str("another popup is being offered"),
            Skip::Outranked { .. } => f.write_str("a campaign with a higher priority was offered"),
            Skip::DelayPending { due_ms } => write!(
                f,
                "a delayed popup of this campaign is already pending (due at {})",
                crate::rfc3339::rfc3339_ms(*due_ms)
            ),
            Skip::PrizeLimit { max } => write!(
                f,
                "the person already received {max} prize(s) from this campaign, its per-user limit"
            ),
            Skip::SequenceStep { done, of } => {
                write!(
                    f,
                    "sequence step {done} of {of} done; waiting for the next step"
                )
            }
            Skip::NotInPack => f.write_str("the campaign is no longer in the active pack"),
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
    /// Campaigns whose popup this event scheduled for later.
    pub scheduled: Vec<(usize, PendingDelay)>,
    /// Pending delays this event cancelled.
    pub cancelled: Vec<PendingDelay>,
    /// Goals this event reached.
    pub conversions: Vec<Conversion>,
}

/// A goal event inside a campaign's attribution window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub campaign_id: String,
    pub variant: String,
    /// The impression's offer (or control exposure) it is attributed to.
    pub offer_id: String,
    pub exposure_ms: i64,
    /// Attributed to a test person's exposure.
    pub test: bool,
}

/// An event as a campaign saw it, kept for `explain()`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenEvent {
    pub name: String,
    pub props: Vec<(String, Value)>,
    pub ts_ms: i64,
}

/// An event being decided on: borrowed, with its shared copy when the
/// caller has one.
struct EventRef<'a> {
    name: &'a str,
    props: &'a [(String, Value)],
    ts_ms: i64,
    seen: Option<&'a Arc<SeenEvent>>,
}

/// What a campaign did at the last event that concerned it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Offered,
    Scheduled { due_ms: i64 },
    Skipped(Skip),
}

/// The last event that triggered (or moved) a campaign, and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LastMatch {
    pub event: Arc<SeenEvent>,
    pub outcome: Outcome,
    /// What the worker added after the engine's decision (variant, claim,
    /// presenter answer).
    pub notes: Vec<String>,
    /// The engine chose it, and then the worker did not offer it (the stock
    /// was exhausted, a personal-text value or the image was missing, no
    /// presenter): `explain()` says "not offered", not "offered".
    pub withheld: bool,
}

/// What the due-delay check found.
#[derive(Debug, Default, PartialEq)]
pub struct DueDelays {
    /// The delay to offer now (removed from the pending set).
    pub offer: Option<(usize, PendingDelay)>,
    /// Delays past their expiry (removed).
    pub expired: Vec<PendingDelay>,
    /// Delays that can never be offered any more (removed), and why.
    pub dropped: Vec<(PendingDelay, Skip)>,
}

pub struct TriggerEngine {
    pack: Arc<RulePack>,
    device: Device,
    behaviours: Behaviours,
    histories: HashMap<String, CampaignHistory>,
    dirty_histories: HashSet<String>,
    global: GlobalHistory,
    global_dirty: bool,
    delays: Delays,
    sequences: Sequences,
    assignments: HashMap<String, Assignment>,
    dirty_assignments: HashSet<String>,
    /// By campaign index in the active pack; reset with the pack.
    last: Vec<Option<LastMatch>>,
    /// Indexes into `last` changed since `take_dirty_last`: the worker writes
    /// their explanations in its group commit, so `explain()` still answers
    /// after a restart.
    dirty_last: HashSet<usize>,
    notes: HashMap<String, Vec<String>>,
    /// The highest time seen: device state, kept across `reset()`.
    timeline: timeline::Timeline,
    /// Reused by every event's decision (`Verdicts`).
    verdicts: VerdictBuffers,
}

/// Notes kept per campaign without a matching event: enough to tell what
/// happened at the last restart or foreground.
const MAX_LOOSE_NOTES: usize = 8;

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
            delays: Delays::default(),
            sequences: Sequences::default(),
            assignments: HashMap::default(),
            dirty_assignments: HashSet::default(),
            last: Vec::new(),
            dirty_last: HashSet::default(),
            notes: HashMap::default(),
            timeline: timeline::Timeline::default(),
            verdicts: VerdictBuffers::default(),
        }
    }

    pub fn pack(&self) -> &Arc<RulePack> {
        &self.pack
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The device moved to another timezone: local-time rules (quiet hours,
    /// calendar periods, local hours) read the new one from now on.
    pub fn set_zone(&mut self, zone: TimeZone) {
        self.device.zone = zone;
    }

    /// Swaps the active pack. Counters and histories stay: they belong to
    /// the person, and a campaign kept across packs keeps its caps.
    pub fn set_pack(&mut self, pack: Arc<RulePack>) {
        self.behaviours.follow(&pack);
        // Explanations follow the campaign across packs when it stays.
        let mut last = vec![None; pack.campaigns().len()];
        let mut dirty = HashSet::default();
        for (i, l) in std::mem::take(&mut self.last).into_iter().enumerate() {
            if let (Some(l), Some(old)) = (l, self.pack.campaigns().get(i)) {
                if let Some(j) = pack.campaigns().iter().position(|c| c.id == old.id) {
                    last[j] = Some(l);
                    if self.dirty_last.contains(&i) {
                        dirty.insert(j);
                    }
                }
            }
        }
        self.last = last;
        self.dirty_last = dirty;
        self.pack = pack;
    }

    /// Counts an event and decides what it offers, schedules, cancels and
    /// converts. `offer_in_flight` is true while another popup is being
    /// offered or shown: at most one at a time.
    pub fn on_event(
        &mut self,
        name: &str,
        props: &[(String, Value)],
        ts_ms: i64,
        now_ms: i64,
        person: &Person,
        offer_in_flight: bool,
    ) -> Decision {
        let event = EventRef {
            name,
            props,
            ts_ms,
            seen: None,
        };
        self.on_event_ref(event, now_ms, person, offer_in_flight)
    }

    /// As [`TriggerEngine::on_event`], for an event the caller keeps anyway
    /// (the worker's replay buffer): `explain()` shares it instead of a copy.
    pub fn on_seen_event(
        &mut self,
        seen: &Arc<SeenEvent>,
        now_ms: i64,
        person: &Person,
        offer_in_flight: bool,
    ) -> Decision {
        let event = EventRef {
            name: &seen.name,
            props: &seen.props,
            ts_ms: seen.ts_ms,
            seen: Some(seen),
        };
        self.on_event_ref(event, now_ms, person, offer_in_flight)
    }

    fn on_event_ref(
        &mut self,
        e: EventRef,
        now_ms: i64,
        person: &Person,
        offer_in_flight: bool,
    ) -> Decision {
        self.behaviours.record(e.name, e.props, e.ts_ms);
        let mut decision = Decision::default();
        self.cancel_delays(e.name, e.props, person.test, &mut decision);
        self.attribute(e.name, e.props, e.ts_ms, &mut decision);
        self.decide(&e, now_ms, person, offer_in_flight, None, &mut decision);
        decision
    }

    /// Evaluates an event again for campaigns that just arrived in a new
    /// pack (`only`, indexes into it), without counting it a second time.
    pub fn replay_event(
        &mut self,
        seen: &Arc<SeenEvent>,
        now_ms: i64,
        person: &Person,
        offer_in_flight: bool,
        only: &HashSet<usize>,
    ) -> Decision {
        let mut decision = Decision::default();
        let event = EventRef {
            name: &seen.name,
            props: &seen.props,
            ts_ms: seen.ts_ms,
            seen: Some(seen),
        };
        self.decide(
            &event,
            now_ms,
            person,
            offer_in_flight,
            Some(only),
            &mut decision,
        );
        decision
    }

    fn cancel_delays(
        &mut self,
        name: &str,
        props: &[(String, Value)],
        test_person: bool,
        d: &mut Decision,
    ) {
        let pack = &self.pack;
        let cancellers = if test_person {
            pack.cancelled_by_for_test_person(name)
        } else {
            pack.cancelled_by(name)
        };
        for &idx in cancellers {
            let c = pack.campaign(idx);
            if self.delays.get(&c.id).is_none() {
                continue;
            }
            let cancels = c.delay.as_ref().is_some_and(|delay| {
                delay
                    .cancel_on
                    .iter()
                    .any(|m| m.event == name && m.matches(props))
            });
            if cancels {
                if let Some(p) = self.delays.remove(&c.id) {
                    d.cancelled.push(p);
                }
            }
        }
    }

    fn attribute(&mut self, name: &str, props: &[(String, Value)], ts_ms: i64, d: &mut Decision) {
        if self.pack.goals_for(name).is_empty() {
            return;
        }
        let pack = self.pack.clone();
        for &idx in pack.goals_for(name) {
            let c = pack.campaign(idx);
            let Some(goal) = &c.goal else { continue };
            let Some(h) = self.histories.get_mut(&c.id) else {
                continue;
            };
            let Some(e) = h.exposure.as_mut() else {
                continue;
            };
            let inside = ts_ms >= e.at_ms && ts_ms - e.at_ms <= goal.within_ms;
            if e.converted || !inside || !goal.matches(props) {
                continue;
            }
            e.converted = true;
            d.conversions.push(Conversion {
                campaign_id: c.id.clone(),
                variant: e.variant.clone(),
                offer_id: e.offer_id.clone(),
                exposure_ms: e.at_ms,
                test: e.test,
            });
            self.dirty_histories.insert(c.id.clone());
        }
    }

    fn decide(
        &mut self,
        e: &EventRef,
        now_ms: i64,
        person: &Person,
        offer_in_flight: bool,
        only: Option<&HashSet<usize>>,
        decision: &mut Decision,
    ) {
        let (name, props, ts_ms) = (e.name, e.props, e.ts_ms);
        let pack = self.pack.clone();
        let candidates = if person.test {
            pack.candidates_for_test_person(name)
        } else {
            pack.candidates(name)
        };
        if candidates.is_empty() {
            return;
        }
        decision.skipped.reserve(candidates.len());
        let cal = Calendar::at(now_ms, &self.device.zone);
        let global = if person.test {
            Ok(())
        } else {
            caps::global_allows(&pack.limits, &self.global, person.session_id, &cal)
        };
        let mut verdicts = Verdicts {
            tags: tags_of(person.user_properties),
            of: std::mem::take(&mut self.verdicts),
        };
        verdicts.of.reset(&pack);
        let seen = e.seen.cloned().unwrap_or_else(|| {
            Arc::new(SeenEvent {
                name: name.to_owned(),
                props: props.to_vec(),
                ts_ms,
            })
        });
        for &idx in candidates {
            if only.is_some_and(|o| !o.contains(&idx)) {
                continue;
            }
            let c = pack.campaign(idx);
            if c.trigger.is_sequence() {
                let steps = &c.trigger.sequence;
                let step = self.sequences.advance(
                    &c.id,
                    steps.len(),
                    ts_ms,
                    |i| steps[i].event == name && steps[i].matches(props),
                    |i| steps[i].within_ms,
                );
                match step {
                    Step::Completed => {}
                    Step::Advanced { done } | Step::Unmoved { done } => {
                        let skip = Skip::SequenceStep {
                            done,
                            of: steps.len(),
                        };
                        self.note_outcome(idx, &seen, Outcome::Skipped(skip.clone()));
                        decision.skipped.push((idx, skip));
                        continue;
                    }
                }
            }
            let outcome = if let Some(delay) = &c.delay {
                // A delayed popup is not shown now: priority, global limits
                // and the popup in flight are judged when it is due.
                let pending = self
                    .delays
                    .get(&c.id)
                    .map(|p| Skip::DelayPending { due_ms: p.due_ms });
                match pending.map_or_else(
                    || self.eligible(idx, props, &cal, person, &mut verdicts),
                    Err,
                ) {
                    Ok(()) => {
                        let p = PendingDelay {
                            campaign_id: c.id.clone(),
                            trigger_ms: ts_ms,
                            due_ms: ts_ms.saturating_add(delay.after_ms),
                            expires_ms: ts_ms
                                .saturating_add(delay.after_ms)
                                .saturating_add(delay.expire_after_ms),
                        };
                        self.delays.schedule(p.clone());
                        let due_ms = p.due_ms;
                        decision.scheduled.push((idx, p));
                        Outcome::Scheduled { due_ms }
                    }
                    Err(skip) => Outcome::Skipped(skip),
                }
            } else if let Some(winner) = decision.offer {
                Outcome::Skipped(Skip::Outranked { by: winner })
            } else {
                let busy = if offer_in_flight {
                    Err(Skip::OfferInFlight)
                } else {
                    Ok(())
                };
                match self
                    .eligible(idx, props, &cal, person, &mut verdicts)
                    .and(global.clone().map_err(Skip::Cap))
                    .and(busy)
                {
                    Ok(()) => {
                        decision.offer = Some(idx);
                        Outcome::Offered
                    }
                    Err(skip) => Outcome::Skipped(skip),
                }
            };
            if let Outcome::Skipped(skip) = &outcome {
                decision.skipped.push((idx, skip.clone()));
            }
            self.note_outcome(idx, &seen, outcome);
        }
        self.verdicts = verdicts.of;
    }

    fn note_outcome(&mut self, idx: usize, seen: &Arc<SeenEvent>, outcome: Outcome) {
        if self.last.len() != self.pack.campaigns().len() {
            self.last.resize(self.pack.campaigns().len(), None);
        }
        self.dirty_last.insert(idx);
        // Updated in place: this runs for every candidate of every event.
        match &mut self.last[idx] {
            Some(l) => {
                if !Arc::ptr_eq(&l.event, seen) {
                    l.event = seen.clone();
                }
                l.outcome = outcome;
                l.notes.clear();
                l.withheld = false;
            }
            slot => {
                *slot = Some(LastMatch {
                    event: seen.clone(),
                    outcome,
                    notes: Vec::new(),
                    withheld: false,
                })
            }
        }
    }

    /// Adds what the worker did after the decision to the campaign's
    /// explanation.
    /// Without a matching event in this process (a delay restored after a
    /// restart), the note is kept on its own.
    /// As [`TriggerEngine::annotate`], for a campaign the engine chose and
    /// the worker then did not offer.
    pub fn annotate_withheld(&mut self, campaign_id: &str, note: String) {
        if let Some(Some(l)) = self
            .pack
            .index_of(campaign_id)
            .and_then(|i| self.last.get_mut(i))
        {
            l.withheld = true;
        }
        self.annotate(campaign_id, note);
    }

    pub fn annotate(&mut self, campaign_id: &str, note: String) {
        if let Some(i) = self.pack.index_of(campaign_id) {
            if let Some(Some(l)) = self.last.get_mut(i) {
                l.notes.push(note);
                self.dirty_last.insert(i);
                return;
            }
        }
        let notes = self.notes.entry(campaign_id.to_owned()).or_default();
        if notes.len() >= MAX_LOOSE_NOTES {
            notes.remove(0);
        }
        notes.push(note);
    }

    /// Notes about the campaign not tied to an event of this process.
    pub fn loose_notes(&self, campaign_id: &str) -> &[String] {
        self.notes.get(campaign_id).map_or(&[], |n| n.as_slice())
    }

    pub fn last_match(&self, campaign_id: &str) -> Option<&LastMatch> {
        let i = self.pack.index_of(campaign_id)?;
        self.last.get(i)?.as_ref()
    }

    /// Campaigns (indexes into the pack) whose last match changed since the
    /// last call, for the store.
    pub fn take_dirty_last(&mut self) -> Vec<usize> {
        self.dirty_last.drain().collect()
    }

    pub fn sequences_mut(&mut self) -> &mut Sequences {
        &mut self.sequences
    }

    pub fn sequence_progress(&self, campaign_id: &str) -> Option<sequences::Progress> {
        self.sequences.get(campaign_id)
    }

    pub fn assignment(&self, campaign_id: &str) -> Option<&Assignment> {
        self.assignments.get(campaign_id)
    }

    pub fn restore_assignment(&mut self, campaign_id: String, a: Assignment) {
        self.assignments.insert(campaign_id, a);
    }

    /// Assignments made since the last call, for the store.
    pub fn take_dirty_assignments(&mut self) -> Vec<(String, Assignment)> {
        self.dirty_assignments
            .drain()
            .filter_map(|id| self.assignments.get(&id).map(|a| (id, a.clone())))
            .collect()
    }

    pub fn behaviours(&self) -> &Behaviours {
        &self.behaviours
    }

    pub fn behaviours_mut(&mut self) -> &mut Behaviours {
        &mut self.behaviours
    }

    /// A new person (after `reset()`): no counters, no caps.
    pub fn clear_person(&mut self) {
        self.behaviours.clear();
        self.histories.clear();
        self.dirty_histories.clear();
        self.global = GlobalHistory::default();
        self.global_dirty = false;
        self.delays.clear();
        self.sequences.clear();
        self.assignments.clear();
        self.dirty_assignments.clear();
        self.last.iter_mut().for_each(|l| *l = None);
        self.dirty_last.clear();
        self.notes.clear();
    }
}

/// Tags are the user property `tags`, a list of strings.
pub(crate) fn tags_of(props: &Properties) -> std::collections::BTreeSet<String> {
    match props.get("tags") {
        Some(Value::StringList(l)) => l.iter().cloned().collect(),
        _ => Default::default(),
    }
}
