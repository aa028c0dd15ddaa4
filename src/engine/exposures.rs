//! What happened to the offers: impressions, clicks, dismisses and prizes,
//! recorded into the campaign and global histories the caps are judged on,
//! and those histories restored from and handed to the store.

use super::caps::{CampaignHistory, Exposure, GlobalHistory};
use super::TriggerEngine;

impl TriggerEngine {
    /// A prize of the campaign was shown to the person.
    pub fn record_prize(&mut self, campaign_id: &str) {
        let h = self.histories.entry(campaign_id.to_owned()).or_default();
        h.prizes = h.prizes.saturating_add(1);
        self.dirty_histories.insert(campaign_id.to_owned());
    }

    /// The host reported the popup shown (or the offer timed out, which
    /// counts as shown): caps count it.
    /// A control exposure counts the same: caps, and the attribution window.
    /// `test`: a test person's, whose conversion is flagged as a test too.
    pub fn record_impression(
        &mut self,
        campaign_id: &str,
        at_ms: i64,
        session_id: &str,
        variant: &str,
        offer_id: &str,
        test: bool,
    ) {
        let h = self.histories.entry(campaign_id.to_owned()).or_default();
        h.prune(at_ms);
        h.record_impression(at_ms);
        match h.exposure.as_mut() {
            // The window this offer opened when it was made stays open
            // from then, and a conversion already made in it stays made.
            Some(e) if e.offer_id == offer_id => {}
            _ => h.exposure = Some(Exposure::new(at_ms, variant, offer_id, test)),
        }
        self.dirty_histories.insert(campaign_id.to_owned());
        self.global.prune(at_ms);
        self.global.record_impression(at_ms, session_id);
        self.global_dirty = true;
    }

    /// A treated person reached the exposure point: the offer is made
    /// (the host may still not show it). It opens the goal's attribution
    /// window as a control exposure does, so both arms count conversions
    /// from the same point (intention to treat); caps count only what is
    /// shown.
    pub fn record_offer(
        &mut self,
        campaign_id: &str,
        at_ms: i64,
        variant: &str,
        offer_id: &str,
        test: bool,
    ) {
        let h = self.histories.entry(campaign_id.to_owned()).or_default();
        h.exposure = Some(Exposure::new(at_ms, variant, offer_id, test));
        self.dirty_histories.insert(campaign_id.to_owned());
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
}
