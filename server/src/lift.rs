//! The statistics behind a campaign's measured effect: conversion rates per
//! arm, the absolute lift of treatment over control with a 95 % confidence
//! interval, the compliance-adjusted effect (CACE) when not every person
//! assigned to treatment saw the popup, and revenue per person with its own
//! interval.
//!
//! Inputs are per-person counts (a person converts or not; revenue is summed
//! per person), so each arm is a sample of independent persons. Intervals are
//! the normal (Wald) approximation, the standard for A/B readouts at the
//! sizes campaigns reach; below [`MIN_PERSONS_PER_ARM`] persons in either arm
//! no interval is given, because the approximation is not honest there.

use serde::{Deserialize, Serialize};

/// The two-sided 95 % quantile of the standard normal distribution.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Fewer persons than this in an arm: rates are reported, intervals are not
/// (the normal approximation needs a few successes and failures per arm).
pub const MIN_PERSONS_PER_ARM: u64 = 30;

/// One arm of a campaign: who was assigned, who was exposed, who converted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Arm {
    /// Distinct persons assigned to the arm (reached the exposure point).
    pub assigned: u64,
    /// Of them, persons who saw the popup (for control: 0, nobody sees it).
    pub exposed: u64,
    /// Of them, persons with at least one conversion.
    pub converted: u64,
    /// Sum over persons of the goal's value (revenue).
    pub value_sum: f64,
    /// Sum over persons of the square of each person's total value.
    pub value_sum_squares: f64,
}

impl Arm {
    pub fn conversion_rate(&self) -> Option<f64> {
        (self.assigned > 0).then(|| self.converted as f64 / self.assigned as f64)
    }

    pub fn value_per_person(&self) -> Option<f64> {
        (self.assigned > 0).then(|| self.value_sum / self.assigned as f64)
    }

    /// The sample variance of the per-person value (persons without a
    /// conversion count as 0).
    fn value_variance(&self) -> Option<f64> {
        if self.assigned < 2 {
            return None;
        }
        let n = self.assigned as f64;
        let mean = self.value_sum / n;
        Some(((self.value_sum_squares - n * mean * mean) / (n - 1.0)).max(0.0))
    }
}

/// An estimate with its 95 % interval (none when an arm is too small).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
}

impl Estimate {
    fn new(value: f64, standard_error: Option<f64>) -> Estimate {
        Estimate {
            value,
            ci95_low: standard_error.map(|se| value - Z_95 * se),
            ci95_high: standard_error.map(|se| value + Z_95 * se),
        }
    }
}

/// What a campaign with a control arm achieved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// Intention to treat: conversion rate of treatment minus control.
    pub absolute_lift: Estimate,
    /// Share of persons assigned to treatment who saw the popup.
    pub compliance: f64,
    /// The effect on persons who saw it (absolute lift / compliance); given
    /// when compliance is below 1 and above 0.
    pub complier_effect: Option<Estimate>,
    /// Revenue per person, treatment minus control.
    pub value_lift_per_person: Estimate,
}

/// The effect of treatment over control, or `None` when an arm is empty.
pub fn effect(treatment: &Arm, control: &Arm) -> Option<Effect> {
    let (p_t, p_c) = (treatment.conversion_rate()?, control.conversion_rate()?);
    let big_enough =
        treatment.assigned >= MIN_PERSONS_PER_ARM && control.assigned >= MIN_PERSONS_PER_ARM;
    let (n_t, n_c) = (treatment.assigned as f64, control.assigned as f64);
    let lift = p_t - p_c;
    let lift_se = big_enough.then(|| (p_t * (1.0 - p_t) / n_t + p_c * (1.0 - p_c) / n_c).sqrt());
    let compliance = treatment.exposed.min(treatment.assigned) as f64 / n_t;
    // One-sided non-compliance (control persons never see the popup): the
    // Wald estimator ITT / compliance, its interval scaled the same way
    // (compliance taken as known, the usual first-order approximation).
    let complier_effect = (compliance > 0.0 && compliance < 1.0)
        .then(|| Estimate::new(lift / compliance, lift_se.map(|se| se / compliance)));
    let value_se = big_enough.then(|| {
        let v_t = treatment.value_variance().unwrap_or(0.0);
        let v_c = control.value_variance().unwrap_or(0.0);
        (v_t / n_t + v_c / n_c).sqrt()
    });
    let value_lift = treatment.value_per_person()? - control.value_per_person()?;
    Some(Effect {
        absolute_lift: Estimate::new(lift, lift_se),
        compliance,
        complier_effect,
        value_lift_per_person: Estimate::new(value_lift, value_se),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} != {b}");
    }

    fn arm(assigned: u64, exposed: u64, converted: u64) -> Arm {
        Arm {
            assigned,
            exposed,
            converted,
            ..Arm::default()
        }
    }

    #[test]
    fn the_lift_and_its_interval_match_the_hand_computation() {
        // Treatment 1,000 persons, 120 converted (12 %); control 1,000, 100 (10 %).
        // SE = sqrt(.12*.88/1000 + .1*.9/1000) = sqrt(0.0001956) = 0.013985707...
        // CI = 0.02 -+ 1.959964 * 0.013985707 = [-0.0074115, 0.0474115].
        let e = effect(&arm(1_000, 1_000, 120), &arm(1_000, 0, 100)).unwrap();
        close(e.absolute_lift.value, 0.02);
        close(e.absolute_lift.ci95_low.unwrap(), -0.007_411_5);
        close(e.absolute_lift.ci95_high.unwrap(), 0.047_411_5);
        close(e.compliance, 1.0);
        assert_eq!(e.complier_effect, None, "everyone assigned saw it");
    }

    #[test]
    fn partial_exposure_gives_the_complier_effect() {
        // 80 % of the treatment arm saw the popup: CACE = 0.02 / 0.8 = 0.025,
        // its interval the lift's divided by 0.8: [-0.0092644, 0.0592644].
        let e = effect(&arm(1_000, 800, 120), &arm(1_000, 0, 100)).unwrap();
        close(e.compliance, 0.8);
        let c = e.complier_effect.unwrap();
        close(c.value, 0.025);
        close(c.ci95_low.unwrap(), -0.009_264_4);
        close(c.ci95_high.unwrap(), 0.059_264_4);
    }

    #[test]
    fn revenue_per_person_with_its_interval() {
        // Treatment: 40 persons, 10 spent 50 each (sum 500, squares 25,000).
        // mean 12.5, variance (25000 - 40*156.25)/39 = 480.769231.
        // Control: 40 persons, 5 spent 50 (sum 250, squares 12,500).
        // mean 6.25, variance (12500 - 40*39.0625)/39 = 280.448718.
        // SE = sqrt(480.769231/40 + 280.448718/40) = 4.362390; lift 6.25,
        // CI 6.25 -+ 8.550128 = [-2.300128, 14.800128].
        let t = Arm {
            value_sum: 500.0,
            value_sum_squares: 25_000.0,
            ..arm(40, 40, 10)
        };
        let c = Arm {
            value_sum: 250.0,
            value_sum_squares: 12_500.0,
            ..arm(40, 0, 5)
        };
        let e = effect(&t, &c).unwrap();
        close(e.value_lift_per_person.value, 6.25);
        close(e.value_lift_per_person.ci95_low.unwrap(), -2.300_128);
        close(e.value_lift_per_person.ci95_high.unwrap(), 14.800_128);
    }

    #[test]
    fn small_or_empty_arms_give_no_interval_or_no_effect() {
        let e = effect(&arm(20, 20, 5), &arm(1_000, 0, 100)).unwrap();
        close(e.absolute_lift.value, 0.15);
        assert_eq!(e.absolute_lift.ci95_low, None);
        assert_eq!(effect(&arm(0, 0, 0), &arm(10, 0, 1)), None);
        assert_eq!(effect(&arm(10, 10, 1), &arm(0, 0, 0)), None);
    }
}
