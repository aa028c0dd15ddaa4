//! The rule-pack parser and validator (src/rules): any text, as
//! `loadRulePack` and sync hand it over. A pack is refused with errors that
//! name their field, or parsed; either way nothing panics and the answers a
//! parsed pack gives the engine hold together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reach::rules::{Locale, RulePack, Version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RulePack::parse(text) {
        Ok(pack) => exercise(&pack),
        Err(e) => {
            assert!(!e.errors().is_empty(), "a refusal names a problem");
            assert!(!e.to_string().is_empty());
        }
    }
    // An old SDK sets campaigns with a newer `min_sdk` aside unread.
    if let Ok(pack) = RulePack::parse_for_sdk(text, &Version::new(0, 0, 1)) {
        exercise(&pack);
    }
});

fn exercise(pack: &RulePack) {
    let devices = ["", "en", "zh_CN", "zh-Hant-TW", "pt-BR", "x"];
    for (i, campaign) in pack.campaigns().iter().enumerate() {
        assert_eq!(
            pack.campaign_by_id(&campaign.id).map(|c| &c.id),
            Some(&campaign.id)
        );
        assert_eq!(pack.index_of(&campaign.id), Some(i));
        let event = &campaign.trigger.event;
        assert!(
            pack.candidates(event).contains(&i) || !campaign.enabled,
            "an enabled campaign is a candidate for its own trigger"
        );
        pack.cancelled_by(event);
        pack.goals_for(event);
        // The popup's own payload as the event's properties: values of every
        // kind the pack's conditions may compare.
        let props: Vec<(String, reach::Value)> = campaign
            .popup
            .payload
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        campaign.trigger.matches(props.as_slice());
        for device in devices {
            let locale = Locale::from_device(device);
            for text in campaign
                .popup
                .title
                .iter()
                .chain(campaign.popup.body.iter())
            {
                assert!(!text.resolve(&locale).is_empty());
            }
        }
    }
    let _ = pack.measures().count();
}
