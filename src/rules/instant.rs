//! Instants written in a pack: schedule bounds and timestamp values.
//!
//! Accepted forms, and only these (jiff reads more, and the JSON Schema states
//! exactly these): `2026-09-20`, `2026-09-20T10:00`, `2026-09-20T10:00:00`,
//! each optionally followed by `Z` or an offset like `+08:00` (not after a
//! date alone). Without an offset the text is a local date-time in a named
//! timezone; a time skipped by a DST change moves forward by the gap, one that
//! happens twice takes the earlier.

use jiff::tz::TimeZone;

use super::error::FieldError;
use super::reader::Node;

/// Reads an instant as milliseconds since the Unix epoch. `zone` reads texts
/// without an offset; when it is `None` such a text is refused with
/// `no_offset_hint` telling what to do.
pub(crate) fn read_instant(
    node: &Node,
    zone: Option<&TimeZone>,
    no_offset_hint: &str,
) -> Result<i64, FieldError> {
    let text = node.str()?;
    let shape_error = || {
        node.error(format!(
            "invalid date-time \"{text}\": expected \"2026-09-20\", \"2026-09-20T10:00\", \
             \"2026-09-20T10:00:00\", optionally with \"Z\" or an offset like \"+08:00\""
        ))
    };
    let has_offset = shape(text).ok_or_else(shape_error)?;
    let no_such_time = || {
        node.error(format!(
            "invalid date-time \"{text}\": no such date or time"
        ))
    };
    let instant = if has_offset {
        text.parse::<jiff::Timestamp>()
            .map_err(|_| no_such_time())?
    } else {
        let zone =
            zone.ok_or_else(|| node.error(format!("\"{text}\" has no offset: {no_offset_hint}")))?;
        let civil: jiff::civil::DateTime = text.parse().map_err(|_| no_such_time())?;
        zone.to_ambiguous_timestamp(civil)
            .compatible()
            .map_err(|_| no_such_time())?
    };
    Ok(instant.as_millisecond())
}

/// Checks the text's shape before jiff reads it (jiff accepts more forms than
/// the format allows, and the JSON Schema states exactly these). Returns
/// whether it carries an offset, or `None` when the shape is wrong.
fn shape(text: &str) -> Option<bool> {
    if !text.is_ascii() {
        return None;
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let b = text.as_bytes();
    let date_ok = text.len() >= 10
        && digits(&text[0..4], 4)
        && b[4] == b'-'
        && digits(&text[5..7], 2)
        && b[7] == b'-'
        && digits(&text[8..10], 2);
    if !date_ok {
        return None;
    }
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(false);
    }
    let rest = rest.strip_prefix('T')?;
    if rest.len() < 5
        || !digits(&rest[0..2], 2)
        || rest.as_bytes()[2] != b':'
        || !digits(&rest[3..5], 2)
    {
        return None;
    }
    let mut rest = &rest[5..];
    if let Some(seconds) = rest.strip_prefix(':') {
        if seconds.len() < 2 || !digits(&seconds[..2], 2) {
            return None;
        }
        rest = &seconds[2..];
    }
    match rest {
        "" => Some(false),
        "Z" => Some(true),
        _ => {
            let offset = rest.strip_prefix(['+', '-'])?;
            let ok = offset.len() == 5
                && digits(&offset[0..2], 2)
                && offset.as_bytes()[2] == b':'
                && digits(&offset[3..5], 2);
            ok.then_some(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn read(text: &str, zone: Option<&str>) -> Result<i64, String> {
        let zone = zone.map(|z| TimeZone::get(z).unwrap());
        read_instant(
            &Node::root(&Document::from(json!(text))),
            zone.as_ref(),
            "hint",
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_the_documented_forms_only() {
        let utc = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        assert_eq!(
            read("2026-09-20T10:00:00+08:00", None),
            Ok(utc("2026-09-20T02:00:00Z"))
        );
        assert_eq!(
            read("2026-09-20T10:00Z", None),
            Ok(utc("2026-09-20T10:00:00Z"))
        );
        assert_eq!(
            read("2026-09-20T10:00", Some("Asia/Shanghai")),
            Ok(utc("2026-09-20T02:00:00Z"))
        );
        assert_eq!(
            read("2026-09-20", Some("UTC")),
            Ok(utc("2026-09-20T00:00:00Z"))
        );
        assert_eq!(
            read("2026-09-20T10:00", None).unwrap_err(),
            "\"2026-09-20T10:00\" has no offset: hint"
        );
        for bad in [
            "2026-09-20Z",
            "2026-09-20 10:00",
            "2026-09-20t10:00Z",
            "2026-09-20T10:00:00.5Z",
            "2026-09-20T10:00+0800",
            "2026-9-20",
            "2026-09-20T1000",
            "２０２６-09-20",
        ] {
            let e = read(bad, Some("UTC")).unwrap_err();
            assert!(e.contains("expected \"2026-09-20\""), "{bad}: {e}");
        }
        for impossible in [
            "2026-02-30T10:00Z",
            "2026-02-30",
            "2026-09-20T24:00",
            "2026-09-20T10:61:00Z",
        ] {
            let e = read(impossible, Some("UTC")).unwrap_err();
            assert!(e.ends_with("no such date or time"), "{impossible}: {e}");
        }
    }
}
