//! Evaluating one compiled test against one property value. Pure and
//! allocation-free: it runs for every campaign an event could trigger.

use std::cmp::Ordering;

use super::{Number, Ordered, Scalar, ScalarSet, Test};
use crate::value::Value;

impl Test {
    /// Whether `value` (`None` when the property is absent) passes the test.
    /// A value of another type than the test's passes nothing.
    pub fn matches(&self, value: Option<&Value>) -> bool {
        let Some(value) = value else {
            return matches!(self, Test::NotExists);
        };
        match self {
            Test::Exists => true,
            Test::NotExists => false,
            Test::Eq(expected) => scalar_eq(expected, value) == Some(true),
            Test::Ne(expected) => scalar_eq(expected, value) == Some(false),
            Test::Compare(comparison, bound) => {
                order(value, bound).is_some_and(|o| comparison.accepts(o))
            }
            Test::In(set) => set.contains(value) == Some(true),
            Test::NotIn(set) => set.contains(value) == Some(false),
            Test::Contains(needle) => match value {
                Value::String(s) => s.contains(needle.as_str()),
                Value::StringList(items) => items.iter().any(|i| i == needle),
                _ => false,
            },
            Test::StartsWith(prefix) => match value {
                Value::String(s) => s.starts_with(prefix.as_str()),
                _ => false,
            },
        }
    }
}

/// `Some(equal?)` when the value has the scalar's type, `None` otherwise.
fn scalar_eq(expected: &Scalar, value: &Value) -> Option<bool> {
    match (expected, value) {
        (Scalar::String(e), Value::String(v)) => Some(e == v),
        (Scalar::Bool(e), Value::Bool(v)) => Some(e == v),
        (Scalar::Timestamp(e), Value::Timestamp(v)) => Some(e == v),
        (Scalar::Number(e), _) => {
            number_of(value).and_then(|v| compare_numbers(v, *e).map(|o| o == Ordering::Equal))
        }
        _ => None,
    }
}

/// How the property's value orders against the bound, or `None` on a type
/// mismatch.
fn order(value: &Value, bound: &Ordered) -> Option<Ordering> {
    match (bound, value) {
        (Ordered::Timestamp(b), Value::Timestamp(v)) => Some(v.cmp(b)),
        (Ordered::Number(b), _) => compare_numbers(number_of(value)?, *b),
        _ => None,
    }
}

fn number_of(value: &Value) -> Option<Number> {
    match value {
        Value::Int(i) => Some(Number::Int(*i)),
        Value::Float(f) => Some(Number::Float(*f)),
        _ => None,
    }
}

/// Exact numeric comparison of integers and floats; `None` for NaN.
pub(crate) fn compare_numbers(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
        (Number::Float(a), Number::Float(b)) => a.partial_cmp(&b),
        (Number::Int(a), Number::Float(b)) => compare_int_float(a, b),
        (Number::Float(a), Number::Int(b)) => compare_int_float(b, a).map(Ordering::reverse),
    }
}

/// Compares an `i64` with an `f64` without rounding the integer to a float
/// (which would make 2^53 + 1 equal to 2^53).
fn compare_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^63 is exactly representable; every i64 is below it and at or above -2^63.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    // In range, so the cast is exact.
    match i.cmp(&(whole as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole)),
        other => Some(other),
    }
}

impl ScalarSet {
    /// `Some(member?)` when the value has the set's type, `None` otherwise.
    pub fn contains(&self, value: &Value) -> Option<bool> {
        match (self, value) {
            (ScalarSet::Strings(items), Value::String(s)) => {
                Some(items.binary_search_by(|i| i.as_str().cmp(s)).is_ok())
            }
            (ScalarSet::Numbers { ints, .. }, Value::Int(i)) => Some(ints.binary_search(i).is_ok()),
            (ScalarSet::Numbers { ints, floats }, Value::Float(f)) => {
                if f.is_nan() {
                    None
                } else if let Some(i) = integral(*f) {
                    Some(ints.binary_search(&i).is_ok())
                } else {
                    Some(floats.binary_search_by(|x| x.total_cmp(f)).is_ok())
                }
            }
            _ => None,
        }
    }
}

/// The float as an `i64` when it is a whole number in range.
pub(crate) fn integral(f: f64) -> Option<i64> {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f)).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::predicate::Comparison;

    fn s(x: &str) -> Value {
        Value::String(x.into())
    }

    fn strings(items: &[&str]) -> ScalarSet {
        let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        v.sort();
        ScalarSet::Strings(v.into())
    }

    #[test]
    fn missing_properties_match_only_not_exists() {
        assert!(Test::NotExists.matches(None));
        for t in [
            Test::Exists,
            Test::Eq(Scalar::Bool(true)),
            Test::Ne(Scalar::Bool(true)),
            Test::NotIn(strings(&["a"])),
            Test::Compare(Comparison::Lt, Ordered::Number(Number::Int(5))),
        ] {
            assert!(!t.matches(None), "{t:?}");
        }
        assert!(Test::Exists.matches(Some(&Value::Bool(false))));
        assert!(!Test::NotExists.matches(Some(&Value::Bool(false))));
    }

    #[test]
    fn eq_and_ne_need_the_same_type() {
        let eq150 = Test::Eq(Scalar::Number(Number::Int(150)));
        let ne150 = Test::Ne(Scalar::Number(Number::Int(150)));
        assert!(eq150.matches(Some(&Value::Int(150))));
        assert!(eq150.matches(Some(&Value::Float(150.0))));
        assert!(
            !eq150.matches(Some(&s("150"))),
            "string vs number is a non-match"
        );
        assert!(!ne150.matches(Some(&s("150"))), "also for ne");
        assert!(ne150.matches(Some(&Value::Int(151))));
        assert!(!ne150.matches(Some(&Value::Timestamp(150))));
        let eq_s = Test::Eq(Scalar::String("150".into()));
        assert!(eq_s.matches(Some(&s("150"))));
        assert!(!eq_s.matches(Some(&Value::Int(150))));
        assert!(!eq_s.matches(Some(&Value::StringList(vec!["150".into()]))));
        let eq_true = Test::Eq(Scalar::Bool(true));
        assert!(eq_true.matches(Some(&Value::Bool(true))));
        assert!(!eq_true.matches(Some(&s("true"))));
        assert!(!eq_true.matches(Some(&Value::Int(1))));
        let eq_ts = Test::Eq(Scalar::Timestamp(1_000));
        assert!(eq_ts.matches(Some(&Value::Timestamp(1_000))));
        assert!(!eq_ts.matches(Some(&Value::Int(1_000))));
        assert!(
            !Test::Eq(Scalar::String("x".into())).matches(Some(&Value::Unsupported("null".into())))
        );
    }

    #[test]
    fn ordering_operators_compare_numbers_exactly() {
        let t = |c, n| Test::Compare(c, Ordered::Number(n));
        assert!(t(Comparison::Gt, Number::Int(100)).matches(Some(&Value::Int(101))));
        assert!(!t(Comparison::Gt, Number::Int(100)).matches(Some(&Value::Int(100))));
        assert!(t(Comparison::Gte, Number::Int(100)).matches(Some(&Value::Int(100))));
        assert!(t(Comparison::Lt, Number::Int(100)).matches(Some(&Value::Float(99.5))));
        assert!(t(Comparison::Lte, Number::Float(99.5)).matches(Some(&Value::Int(99))));
        assert!(!t(Comparison::Lte, Number::Float(99.5)).matches(Some(&Value::Int(100))));
        assert!(!t(Comparison::Gt, Number::Int(100)).matches(Some(&s("150"))));
        assert!(!t(Comparison::Gt, Number::Int(0)).matches(Some(&Value::Float(f64::NAN))));
        // 2^53 + 1 is not equal to the float 2^53, though `as f64` would say so.
        let big = (1i64 << 53) + 1;
        assert!(
            t(Comparison::Gt, Number::Float((1u64 << 53) as f64)).matches(Some(&Value::Int(big)))
        );
        assert!(t(Comparison::Lt, Number::Float(1e300)).matches(Some(&Value::Int(i64::MAX))));
        assert!(t(Comparison::Gt, Number::Float(-1e300)).matches(Some(&Value::Int(i64::MIN))));
        assert!(t(Comparison::Lt, Number::Float(-0.5)).matches(Some(&Value::Int(-1))));
        assert!(!t(Comparison::Lt, Number::Float(-0.5)).matches(Some(&Value::Int(0))));
    }

    #[test]
    fn ordering_timestamps_needs_timestamp_values() {
        let after = Test::Compare(Comparison::Gte, Ordered::Timestamp(5_000));
        assert!(after.matches(Some(&Value::Timestamp(5_000))));
        assert!(!after.matches(Some(&Value::Timestamp(4_999))));
        assert!(!after.matches(Some(&Value::Int(9_999))));
    }

    #[test]
    fn in_and_not_in_look_up_sets_of_one_type() {
        let channels = strings(&["wechat_moments", "qzone"]);
        assert!(Test::In(channels.clone()).matches(Some(&s("qzone"))));
        assert!(!Test::In(channels.clone()).matches(Some(&s("sms"))));
        assert!(Test::NotIn(channels.clone()).matches(Some(&s("sms"))));
        assert!(!Test::NotIn(channels.clone()).matches(Some(&Value::Int(3))));
        let numbers = ScalarSet::Numbers {
            ints: vec![1, 2, 3].into(),
            floats: vec![0.5].into(),
        };
        assert!(Test::In(numbers.clone()).matches(Some(&Value::Int(2))));
        assert!(Test::In(numbers.clone()).matches(Some(&Value::Float(2.0))));
        assert!(Test::In(numbers.clone()).matches(Some(&Value::Float(0.5))));
        assert!(!Test::In(numbers.clone()).matches(Some(&Value::Float(2.5))));
        assert!(Test::NotIn(numbers.clone()).matches(Some(&Value::Int(4))));
        assert!(!Test::NotIn(numbers.clone()).matches(Some(&s("4"))));
        assert!(!Test::NotIn(numbers).matches(Some(&Value::Float(f64::NAN))));
    }

    #[test]
    fn contains_and_starts_with() {
        let has = Test::Contains("vip".into());
        assert!(has.matches(Some(&s("gold-vip-2"))));
        assert!(!has.matches(Some(&s("VIP"))), "case-sensitive");
        assert!(has.matches(Some(&Value::StringList(vec!["new".into(), "vip".into()]))));
        assert!(
            !has.matches(Some(&Value::StringList(vec!["vip2".into()]))),
            "whole elements"
        );
        assert!(!has.matches(Some(&Value::Int(1))));
        let prefix = Test::StartsWith("app://".into());
        assert!(prefix.matches(Some(&s("app://home"))));
        assert!(!prefix.matches(Some(&s("https://app://"))));
        assert!(!prefix.matches(Some(&Value::StringList(vec!["app://x".into()]))));
    }
}
