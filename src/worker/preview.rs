//! `preview(campaignId)`: a QA screen in a debug build offers one campaign's
//! popup now, through the presenter, whether or not the campaign has started,
//! is paused or is capped, and whoever the person is.
//!
//! A preview is a test: its events carry `"test": true` and `"preview": true`
//! (the server's stats leave them out), it never claims a prize from the
//! stock, and it leaves the person's real campaign state alone — no cap,
//! goal window, assignment or delay counts it. What happened is logged and
//! noted for `explain(campaignId)`.

use super::offer::popup_props;
use super::Worker;
use crate::event::EventKind;
use crate::log::Level;
use crate::popup::{popup_for, text_values_for, InFlight, OfferContent, DEFAULT_VARIANT};

impl Worker {
    /// Offers `campaign_id`'s popup now: its main popup, or `variant`'s.
    pub(super) fn preview(&mut self, campaign_id: &str, variant: Option<&str>, now: i64) {
        let pack = self.engine.pack().clone();
        let Some(campaign) = pack.campaign_by_id(campaign_id) else {
            self.shared.logger.log(
                Level::Warn,
                &format!("preview of campaign {campaign_id}: it is not in the active pack"),
            );
            return;
        };
        let variant = match variant {
            None => DEFAULT_VARIANT.to_owned(),
            Some(v) => {
                let arm = campaign
                    .variants
                    .as_ref()
                    .and_then(|vs| vs.arms.iter().find(|a| a.id == v));
                match arm {
                    None => {
                        return self.preview_refused(
                            campaign_id,
                            format!("the campaign has no variant \"{v}\""),
                        )
                    }
                    Some(a) if a.control => {
                        return self.preview_refused(
                            campaign_id,
                            format!("variant \"{v}\" is a control group: it has no popup"),
                        )
                    }
                    Some(a) => a.id.clone(),
                }
            }
        };
        if self.in_flight.is_some() {
            return self.preview_refused(
                campaign_id,
                "another popup is being offered; try again once it is answered".to_owned(),
            );
        }
        if self.presenter.is_none() {
            return self.preview_refused(campaign_id, "no PopupPresenter is set".to_owned());
        }
        let popup = popup_for(campaign, &variant, false);
        if let Some(why) = self.held_back_for_image(popup) {
            return self.preview_refused(campaign_id, why);
        }
        let text_values = text_values_for(campaign, &self.user_properties, &[]);
        let offer_id = super::ids::new(
            self.config.id_seed,
            now,
            &format!("preview {campaign_id} {}", self.identity.anonymous_id),
        );
        if let Err(missing) = OfferContent::render_popup(
            campaign,
            popup,
            &offer_id,
            &variant,
            &self.engine.device().locale,
            &text_values,
        ) {
            return self.preview_refused(campaign_id, missing.to_string());
        }
        self.engine.annotate(
            campaign_id,
            format!(
                "preview requested (variant {variant}): offered whatever its schedule and caps"
            ),
        );
        let f = InFlight {
            test: true,
            preview: true,
            ..InFlight::offered(offer_id, campaign.id.clone(), variant, now, text_values)
        };
        self.record(
            EventKind::Track,
            "reach.popup.offered",
            popup_props(&f),
            now,
        );
        self.present(f);
    }

    fn preview_refused(&mut self, campaign_id: &str, why: String) {
        let note = format!("preview not offered: {why}");
        self.shared
            .logger
            .log(Level::Warn, &format!("campaign {campaign_id}: {note}"));
        self.engine.annotate(campaign_id, note);
    }
}
