//! A rule pack: the campaigns and global limits an app runs, parsed from JSON
//! and checked whole. A pack with any error is refused whole, so a refused pack
//! never replaces the active one.

use std::collections::HashMap;

use super::behaviour::Measure;
use super::campaign::{read_campaign, Campaign, CampaignEntry, InactiveCampaign};
use super::error::{FieldError, PackError};
use super::experiment::GlobalHoldout;
use super::format::FormatVersion;
use super::index::TriggerIndex;
use super::json::Document;
use super::limits::GlobalLimits;
use super::locale::Locale;
use super::popup::PopupContext;
use super::reader::{Node, Object};
use super::test_persons::TestPersons;
use super::version::Version;

/// Largest pack accepted, in bytes of JSON. A 1,000-campaign pack that uses
/// every feature in every campaign is under 2 MB; 8 MiB leaves room while
/// refusing a runaway generator before it costs a phone memory.
pub const MAX_PACK_BYTES: usize = 8 * 1024 * 1024;

/// Most campaigns in one pack. The engine's memory and latency budgets are set
/// for 1,000 campaigns; five times that leaves headroom for packs of small
/// campaigns (about 1.2 KB each once parsed) while refusing a runaway generator.
pub const MAX_CAMPAIGNS: usize = 5_000;

/// Longest `revision`: a label for logs and `diagnostics()` (a date, a
/// commit, a release name), shown in every refusal and sync log line.
pub const MAX_REVISION_CHARS: usize = 256;

/// A validated rule pack.
#[derive(Debug, Clone, PartialEq)]
pub struct RulePack {
    pub format: FormatVersion,
    /// The pack's own label for its version, for logs and diagnostics.
    pub revision: Option<String>,
    /// A number that grows with every published pack. Sync refuses a pack
    /// whose version is lower than the active one (no rollback by replaying
    /// an old signed pack); `None` in packs loaded by hand.
    pub version: Option<u64>,
    /// The locale whose texts a device falls back to.
    pub default_locale: Option<Locale>,
    pub limits: GlobalLimits,
    /// Persons held out of every campaign (format 1.x, `holdout`).
    pub holdout: Option<GlobalHoldout>,
    /// The QA team's persons, who may preview campaigns (format 1.2,
    /// `test_persons`; see `test_persons.rs`).
    pub test_persons: TestPersons,
    campaigns: Vec<Campaign>,
    needs_newer_sdk: Vec<InactiveCampaign>,
    /// Indexes of `campaigns`, sorted by id.
    by_id: Vec<usize>,
    index: TriggerIndex,
    /// Per campaign, its audience's group: campaigns with equal audiences
    /// share one, so an event judges each distinct audience once, however
    /// many campaigns use it (packs target a few segments with many
    /// campaigns).
    audience_groups: Vec<u32>,
    audience_group_count: usize,
    /// The same for the trigger's property filter (of the last step, for a
    /// sequence): campaigns listening with equal filters share a verdict.
    filter_groups: Vec<u32>,
    filter_group_count: usize,
    /// The same for the behaviour conditions.
    behaviour_groups: Vec<u32>,
    behaviour_group_count: usize,
}

/// What a device accepts beyond the format itself.
#[derive(Debug, Clone, Copy)]
pub struct Acceptance<'a> {
    /// The SDK version campaigns' `min_sdk` is compared with.
    pub sdk: &'a Version,
    /// The app's own URL schemes (`Config::app_url_schemes`). Empty: a
    /// popup URL may use any scheme but the refused ones (`javascript:`,
    /// `data:`, `file:`, plain `http:`, ...); else only `https:` and these.
    pub app_url_schemes: &'a [String],
}

impl<'a> Acceptance<'a> {
    /// This SDK, no list of app schemes.
    pub fn this_sdk() -> Acceptance<'static> {
        Acceptance::for_app(&[])
    }

    /// This SDK in an app with these URL schemes of its own.
    pub fn for_app(app_url_schemes: &'a [String]) -> Acceptance<'a> {
        Acceptance {
            sdk: super::sdk_version(),
            app_url_schemes,
        }
    }
}

impl RulePack {
    /// Parses and validates a pack for this SDK ([`super::sdk_version`]).
    pub fn parse(json: &str) -> Result<RulePack, PackError> {
        RulePack::parse_accepting(json, &Acceptance::this_sdk())
    }

    /// Parses and validates a pack as an SDK of version `sdk` would (for tools
    /// that check a pack for several SDK versions, and for tests).
    pub fn parse_for_sdk(json: &str, sdk: &Version) -> Result<RulePack, PackError> {
        RulePack::parse_accepting(
            json,
            &Acceptance {
                sdk,
                app_url_schemes: &[],
            },
        )
    }

    /// Parses and validates a pack as a device with `acceptance` takes it.
    pub fn parse_accepting(json: &str, acceptance: &Acceptance) -> Result<RulePack, PackError> {
        if json.len() > MAX_PACK_BYTES {
            return Err(FieldError {
                path: String::new(),
                message: format!(
                    "the pack is {} bytes, more than the {MAX_PACK_BYTES} allowed",
                    json.len()
                ),
            }
            .into());
        }
        // A byte-order mark (editors on Windows write one) is not content.
        let json = json.strip_prefix('\u{feff}').unwrap_or(json);
        let document = Document::parse(json).map_err(|e| FieldError {
            path: e.path,
            message: format!("not valid JSON: {}", e.message),
        })?;
        read_pack(Node::root(&document), acceptance)
    }

    /// A pack with no campaigns and no limits: what runs before any pack.
    pub fn empty() -> RulePack {
        RulePack {
            format: FormatVersion::CURRENT,
            revision: None,
            version: None,
            default_locale: None,
            limits: GlobalLimits::default(),
            holdout: None,
            test_persons: TestPersons::default(),
            campaigns: Vec::new(),
            needs_newer_sdk: Vec::new(),
            by_id: Vec::new(),
            index: TriggerIndex::default(),
            audience_groups: Vec::new(),
            audience_group_count: 0,
            filter_groups: Vec::new(),
            filter_group_count: 0,
            behaviour_groups: Vec::new(),
            behaviour_group_count: 0,
        }
    }

    /// The campaigns this SDK runs (enabled or not), in pack order.
    pub fn campaigns(&self) -> &[Campaign] {
        &self.campaigns
    }

    /// The campaign at an index from [`RulePack::candidates`].
    pub fn campaign(&self, index: usize) -> &Campaign {
        &self.campaigns[index]
    }

    /// The audience group of campaign `index`: campaigns in one group have
    /// equal audiences, so one verdict per event serves them all. A campaign
    /// whose audience no other has is in a group `>= audience_group_count()`.
    pub fn audience_group(&self, index: usize) -> usize {
        self.audience_groups[index] as usize
    }

    /// How many audiences two campaigns or more share.
    pub fn audience_group_count(&self) -> usize {
        self.audience_group_count
    }

    /// The trigger-filter group of campaign `index` (as `audience_group`).
    pub fn filter_group(&self, index: usize) -> usize {
        self.filter_groups[index] as usize
    }

    /// How many trigger filters two campaigns or more share.
    pub fn filter_group_count(&self) -> usize {
        self.filter_group_count
    }

    /// The behaviour-condition group of campaign `index` (as `audience_group`).
    pub fn behaviour_group(&self, index: usize) -> usize {
        self.behaviour_groups[index] as usize
    }

    /// How many behaviour conditions two campaigns or more share.
    pub fn behaviour_group_count(&self) -> usize {
        self.behaviour_group_count
    }

    pub fn campaign_by_id(&self, id: &str) -> Option<&Campaign> {
        self.index_of(id).map(|i| &self.campaigns[i])
    }

    /// The index of the campaign with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        let found = self
            .by_id
            .binary_search_by(|&i| self.campaigns[i].id.as_str().cmp(id));
        found.ok().map(|at| self.by_id[at])
    }

    /// Campaigns set aside because their `min_sdk` is above this SDK.
    pub fn needs_newer_sdk(&self) -> &[InactiveCampaign] {
        &self.needs_newer_sdk
    }

    /// Indexes of the enabled campaigns that `event` triggers, highest
    /// priority first (ties in pack order); empty, at the cost of one hash
    /// lookup, when none.
    pub fn candidates(&self, event: &str) -> &[usize] {
        self.index.candidates(event)
    }

    /// Indexes of the enabled campaigns with a pending delay that `event` may
    /// cancel (its name is in their `cancel_on`; test the properties with
    /// [`super::EventMatch::matches`]), best first; empty, at the cost of one
    /// hash lookup, when none.
    pub fn cancelled_by(&self, event: &str) -> &[usize] {
        self.index.cancelled_by(event)
    }

    /// [`RulePack::candidates`] for a test person: paused campaigns too.
    pub fn candidates_for_test_person(&self, event: &str) -> &[usize] {
        self.index.candidates_for_test_person(event)
    }

    /// [`RulePack::cancelled_by`] for a test person: paused campaigns too.
    pub fn cancelled_by_for_test_person(&self, event: &str) -> &[usize] {
        self.index.cancelled_by_for_test_person(event)
    }

    /// Indexes of the campaigns, enabled or not, whose goal event is `event`
    /// (a conversion for a popup already shown counts even if the campaign
    /// was disabled since); empty, at the cost of one hash lookup, when none.
    pub fn goals_for(&self, event: &str) -> &[usize] {
        self.index.goals_for(event)
    }

    pub fn index(&self) -> &TriggerIndex {
        &self.index
    }

    /// Every behaviour measure of every campaign this SDK runs, for the engine
    /// to know which counters to keep (see [`Measure::series_key`]).
    pub fn measures(&self) -> impl Iterator<Item = &Measure> {
        self.campaigns.iter().flat_map(|c| {
            let mut out = Vec::new();
            if let Some(b) = &c.behaviour {
                b.for_each_leaf(&mut |t| out.push(&t.measure));
            }
            out
        })
    }
}

const PACK_KEYS: [&str; 8] = [
    "format",
    "revision",
    "version",
    "default_locale",
    "limits",
    "holdout",
    "test_persons",
    "campaigns",
];

fn read_pack(root: Node, acceptance: &Acceptance) -> Result<RulePack, PackError> {
    let outline = root.map()?;
    // The version decides how to read the rest, so it is checked first and
    // alone: a newer major is refused without judging fields it may define.
    let format = FormatVersion::read(&outline.required("format")?)?;
    let object = root.object(&PACK_KEYS)?;
    let mut errors = Vec::new();
    let revision = keep(
        &mut errors,
        object.optional("revision", |n| {
            n.short_str(MAX_REVISION_CHARS).map(str::to_owned)
        }),
    );
    let version = keep(
        &mut errors,
        object.optional("version", |n| {
            n.integer()
                .and_then(|v| u64::try_from(v).ok())
                .filter(|v| *v >= 1)
                .ok_or_else(|| n.error("expected a whole number of at least 1"))
        }),
    );
    let default_locale = keep(
        &mut errors,
        object.optional("default_locale", |n| Locale::read(&n)),
    );
    let limits =
        keep(&mut errors, object.optional("limits", GlobalLimits::read)).unwrap_or_default();
    let holdout = keep(&mut errors, object.optional("holdout", GlobalHoldout::read));
    let test_persons = keep(
        &mut errors,
        object.optional("test_persons", TestPersons::read),
    )
    .unwrap_or_default();
    let popups = PopupContext {
        default_locale: default_locale.as_ref(),
        app_url_schemes: acceptance.app_url_schemes,
    };
    let entries = read_campaigns(&object, acceptance.sdk, popups, &mut errors);
    if !errors.is_empty() {
        return Err(PackError::new(errors));
    }

    let mut campaigns = Vec::with_capacity(entries.len());
    let mut needs_newer_sdk = Vec::new();
    for entry in entries {
        match entry {
            CampaignEntry::Active(c) => campaigns.push(*c),
            CampaignEntry::NeedsNewerSdk(c) => needs_newer_sdk.push(c),
        }
    }
    let mut by_id: Vec<usize> = (0..campaigns.len()).collect();
    by_id.sort_unstable_by(|&a, &b| campaigns[a].id.cmp(&campaigns[b].id));
    let index = TriggerIndex::build(&campaigns, !test_persons.is_empty());
    let (audience_groups, audience_group_count) = groups(campaigns.iter().map(|c| &c.audience));
    let (filter_groups, filter_group_count) = groups(campaigns.iter().map(|c| &c.trigger.filter));
    let (behaviour_groups, behaviour_group_count) = groups(campaigns.iter().map(|c| &c.behaviour));
    Ok(RulePack {
        format,
        revision,
        version,
        default_locale,
        limits,
        holdout,
        test_persons,
        campaigns,
        needs_newer_sdk,
        by_id,
        index,
        audience_groups,
        audience_group_count,
        filter_groups,
        filter_group_count,
        behaviour_groups,
        behaviour_group_count,
    })
}

/// Numbers equal items alike, in order of first appearance (see
/// `RulePack::audience_group`), and counts the distinct ones. The key is the
/// `Debug` text: audiences and predicates hold floats, so they have no
/// `Hash`, and their `Debug` form shows every field.
/// An item no other campaign shares gets [`NOT_SHARED`]: it is judged once
/// per event anyway, so remembering its verdict would only cost.
fn groups<'c, T: std::fmt::Debug + 'c>(items: impl Iterator<Item = &'c T>) -> (Vec<u32>, usize) {
    let keys: Vec<String> = items.map(|item| format!("{item:?}")).collect();
    let mut members: HashMap<&str, u32> = HashMap::new();
    for k in &keys {
        *members.entry(k.as_str()).or_default() += 1;
    }
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let groups = keys
        .iter()
        .map(|k| {
            if members[k.as_str()] < 2 {
                return NOT_SHARED;
            }
            let next = ids.len() as u32;
            *ids.entry(k.as_str()).or_insert(next)
        })
        .collect();
    (groups, ids.len())
}

/// The group of an audience, filter or behaviour condition only one campaign
/// has (see `groups`).
const NOT_SHARED: u32 = u32::MAX;

/// The value of an optional field, or `None` after noting its error.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<Option<T>, FieldError>) -> Option<T> {
    result.unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

/// Reads every campaign, collecting one error per broken campaign so that a
/// refusal lists them all.
fn read_campaigns(
    pack: &Object<'_, '_>,
    sdk: &Version,
    popups: PopupContext,
    errors: &mut Vec<FieldError>,
) -> Vec<CampaignEntry> {
    let node = match pack.required("campaigns") {
        Ok(node) => node,
        Err(e) => {
            errors.push(e);
            return Vec::new();
        }
    };
    let items = match node.elements() {
        Ok(items) if items.len() > MAX_CAMPAIGNS => {
            errors.push(node.error(format!("at most {MAX_CAMPAIGNS} campaigns")));
            return Vec::new();
        }
        Ok(items) => items,
        Err(e) => {
            errors.push(e);
            return Vec::new();
        }
    };
    let mut entries: Vec<CampaignEntry> = Vec::with_capacity(items.len());
    // Ids borrowed from the document: no copy per campaign.
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.enumerate() {
        let entry = match read_campaign(item, sdk, popups) {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        // Reading succeeded, so the campaign is an object with a string id.
        let object = item.map().expect("a read campaign is an object");
        let id_node = object.required("id").expect("a read campaign has an id");
        let id = id_node.as_str().expect("a read campaign's id is a string");
        match first_seen.get(id) {
            Some(earlier) => errors.push(id_node.error(format!(
                "duplicate campaign id \"{id}\" (also campaigns[{earlier}])"
            ))),
            None => {
                first_seen.insert(id, i);
                entries.push(entry);
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use serde_json::json;

    fn campaign(id: &str, event: &str, priority: i32) -> serde_json::Value {
        json!({"id": id, "priority": priority, "trigger": {"event": event},
               "popup": {"template": "modal", "title": id}})
    }

    fn pack(campaigns: Vec<serde_json::Value>) -> String {
        json!({"format": "1.2", "campaigns": campaigns}).to_string()
    }

    #[test]
    fn campaigns_with_equal_audiences_share_an_audience_group() {
        let with_audience = |id: &str, region: &str| {
            let mut c = campaign(id, "open", 0);
            c["audience"] = json!({"user_properties": [
                {"prop": "region", "op": "in", "value": [region]}]});
            c
        };
        let p = RulePack::parse(&pack(vec![
            with_audience("a", "shanghai"),
            with_audience("b", "berlin"),
            with_audience("c", "shanghai"),
            campaign("d", "open", 0),
        ]))
        .unwrap();
        let group = |id: &str| p.audience_group(p.index_of(id).unwrap());
        assert_eq!(group("a"), group("c"));
        assert_eq!(group("a"), 0);
        // Audiences no other campaign has are not grouped.
        assert!(group("b") >= p.audience_group_count() && group("d") >= p.audience_group_count());
        assert_eq!(p.audience_group_count(), 1);
        assert_eq!(RulePack::empty().audience_group_count(), 0);
        // No campaign has a trigger filter or a behaviour condition: one group each.
        assert_eq!((p.filter_group_count(), p.filter_group(3)), (1, 0));
        assert_eq!((p.behaviour_group_count(), p.behaviour_group(3)), (1, 0));
    }

    fn refusal(json: &str) -> String {
        RulePack::parse(json).unwrap_err().to_string()
    }

    #[test]
    fn a_document_nested_past_the_limit_is_refused_with_its_path() {
        let mut c = campaign("a", "x", 0);
        c["meta"] = json!(0);
        let text = pack(vec![campaign("z", "x", 0), c]).replace(
            "\"meta\":0",
            &format!("\"meta\":{}{}", "[".repeat(200_000), "]".repeat(200_000)),
        );
        let e = RulePack::parse(&text).unwrap_err();
        let first = e.first();
        assert!(
            first.path.starts_with("campaigns[1].meta[0][0]"),
            "{}",
            first.path
        );
        assert!(
            first.message.contains("deeper than 64 levels"),
            "{}",
            first.message
        );
    }

    #[test]
    fn a_syntax_error_names_its_path() {
        let text = pack(vec![campaign("a", "x", 0), campaign("b", "x", 0)]).replacen(
            "\"title\":\"b\"",
            "\"title\":tru",
            1,
        );
        let e = RulePack::parse(&text).unwrap_err();
        assert_eq!(e.first().path, "campaigns[1].popup.title");
        assert!(e.first().message.starts_with("not valid JSON: "));
    }

    #[test]
    fn revision_and_salt_are_bounded() {
        let long = "r".repeat(MAX_REVISION_CHARS + 1);
        let text = json!({"format": "1.1", "revision": long, "campaigns": []}).to_string();
        assert_eq!(refusal(&text), "revision: at most 256 characters");
        let mut c = campaign("a", "x", 0);
        c["salt"] = json!("s".repeat(crate::rules::experiment::MAX_SALT_CHARS + 1));
        c["variants"] = json!([{"id": "a", "weight": 1}, {"id": "b", "weight": 1}]);
        assert_eq!(
            refusal(&pack(vec![c])),
            "campaigns[0].salt: at most 256 characters"
        );
    }

    #[test]
    fn the_apps_url_schemes_decide_which_links_pass() {
        let mut c = campaign("a", "x", 0);
        c["popup"]["buttons"] = json!([{"id": "go", "text": "Go",
            "action": {"type": "deep_link", "url": "otherapp://steal"}}]);
        let text = pack(vec![c]);
        assert!(RulePack::parse(&text).is_ok(), "no list: any safe scheme");
        let schemes = ["myapp".to_string()];
        let e = RulePack::parse_accepting(&text, &Acceptance::for_app(&schemes)).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "campaigns[0].popup.buttons[0].action.url: the URL scheme \"otherapp:\" is neither https"
            ),
            "{e}"
        );
        let ok = text.replace("otherapp://steal", "myapp://sale");
        assert!(RulePack::parse_accepting(&ok, &Acceptance::for_app(&schemes)).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let with_bom = format!("\u{feff}{}", pack(vec![campaign("a", "x", 0)]));
        let p = RulePack::parse(&with_bom).expect("a BOM is not content");
        assert_eq!(p.campaigns().len(), 1);
        // Only at the start: inside the document it is not JSON whitespace.
        assert!(refusal("{\u{feff}\"format\": \"1.1\"}").contains("not valid JSON"));
    }

    #[test]
    fn errors_name_the_path_of_the_offending_field() {
        let mut c = campaign("d", "share", 0);
        c["trigger"]["where"] = json!([{"prop": "channel", "op": "eq", "value": "qzone"},
                                       {"prop": "amount", "op": "gtx", "value": 3}]);
        let json = pack(vec![
            campaign("a", "x", 0),
            campaign("b", "x", 0),
            campaign("c", "x", 0),
            c,
        ]);
        assert_eq!(
            refusal(&json),
            "campaigns[3].trigger.where[1].op: unknown operator \"gtx\""
        );
    }

    #[test]
    fn every_broken_campaign_is_reported() {
        let mut a = campaign("a", "x", 0);
        a["priority"] = json!("high");
        let mut c = campaign("c", "", 0);
        c["label"] = json!("a label is fine");
        let e = RulePack::parse(&pack(vec![a, campaign("b", "x", 0), c])).unwrap_err();
        let paths: Vec<_> = e.errors().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["campaigns[0].priority", "campaigns[2].trigger.event"]
        );
        assert!(e.to_string().ends_with("(and 1 more)"));
    }

    #[test]
    fn duplicate_campaign_ids_are_refused() {
        assert_eq!(
            refusal(&pack(vec![
                campaign("a", "x", 0),
                campaign("b", "x", 0),
                campaign("a", "y", 0)
            ])),
            "campaigns[2].id: duplicate campaign id \"a\" (also campaigns[0])"
        );
    }

    #[test]
    fn a_newer_major_is_refused_before_reading_anything_else() {
        let json = json!({"format": "2.0", "campaigns": "whatever 2.0 means"}).to_string();
        assert_eq!(
            refusal(&json),
            "format: pack format 2.0 is newer than this SDK reads (1.x); update the SDK"
        );
        assert_eq!(
            refusal(r#"{"campaigns": []}"#),
            "missing required key \"format\""
        );
    }

    #[test]
    fn a_newer_minor_is_read_and_campaigns_for_newer_sdks_are_set_aside() {
        let mut future = campaign("later", "cart", 0);
        future["min_sdk"] = json!("9.0.0");
        future["journey"] = json!({"steps": 3});
        let json = json!({"format": "1.3", "campaigns": [campaign("now", "cart", 0), future]});
        let p = RulePack::parse(&json.to_string()).unwrap();
        assert_eq!(p.campaigns().len(), 1);
        assert_eq!(p.needs_newer_sdk()[0].id, "later");
        assert_eq!(p.candidates("cart"), [0]);
        // The same pack with the new field but no min_sdk is refused whole.
        let mut bare = campaign("later", "cart", 0);
        bare["journey"] = json!({"steps": 3});
        let json = json!({"format": "1.3", "campaigns": [bare]}).to_string();
        assert!(refusal(&json).starts_with("campaigns[0]: unknown key \"journey\""));
    }

    #[test]
    fn a_1_0_pack_may_use_the_fields_1_1_added() {
        let mut c = campaign("cart-reminder", "add_to_cart", 0);
        c["delay"] = json!({"after": "30m"});
        c["cancel_on"] = json!([{"event": "purchase"}]);
        let json = json!({"format": "1.0", "campaigns": [c]}).to_string();
        let p = RulePack::parse(&json).unwrap();
        assert_eq!(p.format.to_string(), "1.0");
        assert!(p.campaign(0).delay.is_some());
        assert_eq!(RulePack::empty().format, FormatVersion::CURRENT);
    }

    #[test]
    fn a_sequence_is_a_candidate_for_each_of_its_steps_once() {
        let mut seq = campaign("funnel", "unused", 1);
        seq["trigger"] = json!({"sequence": [
            {"event": "view_item"},
            {"event": "add_to_cart", "within": "10m"},
            {"event": "view_item", "within": "10m"},
            {"event": "checkout", "within": "1h"}
        ]});
        let json = pack(vec![campaign("plain", "view_item", 5), seq]);
        let p = RulePack::parse(&json).unwrap();
        assert_eq!(p.candidates("view_item"), [0, 1]);
        assert_eq!(p.candidates("add_to_cart"), [1]);
        assert_eq!(p.candidates("checkout"), [1]);
        assert!(p.candidates("unused").is_empty());
    }

    #[test]
    fn cancel_on_and_goal_events_are_indexed() {
        let delayed = |id: &str, priority: i32, enabled: bool| {
            let mut c = campaign(id, "add_to_cart", priority);
            c["enabled"] = json!(enabled);
            c["delay"] = json!({"after": "30m"});
            c["cancel_on"] = json!([{"event": "purchase"},
                                    {"event": "purchase", "where": [{"prop": "x", "op": "exists"}]},
                                    {"event": "clear_cart"}]);
            c
        };
        let mut goal_off = campaign("goal-off", "view_item", 0);
        goal_off["enabled"] = json!(false);
        goal_off["goal"] = json!({"event": "purchase", "within": "24h"});
        let mut goal_on = campaign("goal-on", "view_item", 9);
        goal_on["goal"] = json!({"event": "purchase", "within": "1h"});
        let json = pack(vec![
            delayed("low", 1, true),
            delayed("high", 7, true),
            delayed("off", 9, false),
            goal_off,
            goal_on,
        ]);
        let p = RulePack::parse(&json).unwrap();
        assert_eq!(p.cancelled_by("purchase"), [1, 0]);
        assert_eq!(p.cancelled_by("clear_cart"), [1, 0]);
        assert!(p.cancelled_by("add_to_cart").is_empty());
        assert_eq!(p.goals_for("purchase"), [3, 4]);
        assert!(p.goals_for("view_item").is_empty());
        assert!(RulePack::empty().goals_for("purchase").is_empty());
        assert!(RulePack::empty().cancelled_by("purchase").is_empty());
    }

    #[test]
    fn unknown_keys_are_refused_and_descriptive_ones_ignored() {
        let json = json!({"format": "1.0", "campaigns": [], "label": "Golden week",
                          "notes": ["reviewed"], "meta": {"owner": "growth"},
                          "x-editor": {"version": 3}, "description": "…"});
        assert!(RulePack::parse(&json.to_string()).is_ok());
        let json = json!({"format": "1.0", "campaigns": [], "limit": {}});
        assert!(refusal(&json.to_string()).starts_with("unknown key \"limit\""));
    }

    #[test]
    fn the_index_lists_enabled_candidates_best_first() {
        let mut off = campaign("off", "app_open", 99);
        off["enabled"] = json!(false);
        let json = pack(vec![
            campaign("c", "app_open", 1),
            campaign("a", "app_open", 10),
            off,
            campaign("b", "app_open", 5),
            campaign("b2", "app_open", 5),
            campaign("d", "view_item", 20),
        ]);
        let p = RulePack::parse(&json).unwrap();
        let ids: Vec<_> = p
            .candidates("app_open")
            .iter()
            .map(|&i| p.campaign(i).id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "b2", "c"]);
        assert!(p.candidates("purchase").is_empty());
        assert_eq!(p.campaign_by_id("off").map(|c| c.enabled), Some(false));
        let mut events: Vec<_> = p.index().events().collect();
        events.sort();
        assert_eq!(events, ["app_open", "view_item"]);
    }

    #[test]
    fn a_parsed_trigger_filters_event_properties() {
        let mut c = campaign("share-reward", "share", 0);
        c["trigger"]["where"] =
            json!([{"prop": "channel", "op": "in", "value": ["wechat_moments", "qzone"]}]);
        let p = RulePack::parse(&pack(vec![c])).unwrap();
        let trigger = &p.campaign(p.candidates("share")[0]).trigger;
        let event = |channel: &str| vec![("channel".to_string(), Value::String(channel.into()))];
        assert!(trigger.matches(&event("qzone")));
        assert!(!trigger.matches(&event("sms")));
    }

    #[test]
    fn measures_list_what_counters_the_pack_needs() {
        let mut c = campaign("streak", "login", 0);
        c["behaviour"] = json!([{"count": "login", "within": "7d", "op": "gte", "value": 3},
                                {"or": [{"days_since": "register", "op": "lte", "value": 7},
                                        {"last_seen": "purchase", "op": "not_exists"}]}]);
        let p = RulePack::parse(&pack(vec![c])).unwrap();
        let keys: Vec<_> = p.measures().map(|m| m.series_key()).collect();
        assert_eq!(keys, ["\"login\"", "\"register\"", "\"purchase\""]);
    }

    #[test]
    fn non_json_and_oversized_packs_are_refused() {
        assert!(refusal("{").starts_with("not valid JSON"));
        assert!(refusal("[]").starts_with("expected an object"));
        let huge = " ".repeat(MAX_PACK_BYTES + 1);
        assert!(refusal(&huge).contains("more than the"));
    }

    #[test]
    fn the_empty_pack_triggers_nothing() {
        assert!(RulePack::empty().candidates("app_open").is_empty());
        assert_eq!(RulePack::parse(&pack(vec![])).unwrap(), RulePack::empty());
    }

    #[test]
    fn the_sdk_version_is_the_crate_version() {
        assert_eq!(
            crate::rules::sdk_version().to_string(),
            env!("CARGO_PKG_VERSION")
        );
    }
}
