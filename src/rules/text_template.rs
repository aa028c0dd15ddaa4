//! Personal text in popups: `{{user.first_name}}`, `{{event.amount}}`, with a
//! fallback for when the value is missing (`{{user.first_name | "there"}}`).
//!
//! Values are inserted as plain text: the popup's text is plain text for
//! the host, and nothing in a value is read as a placeholder or markup.
//! Any `{{` starts a placeholder, so a typo is refused when the pack is
//! loaded (with the text's path) instead of showing `{{usr.name}}` to people.
//! A value missing without a fallback keeps the popup from being offered
//! (the worker says so in `explain()`): a greeting without the name is the
//! operator's choice, made with a fallback, never Reach's.

/// Longest property name in a placeholder, as for event property keys.
const MAX_NAME_CHARS: usize = 255;

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The person's user properties (`setUserProperties`).
    User,
    /// The properties of the event that triggered the popup. A delayed popup
    /// has no triggering event any more: only the fallback can serve.
    Event,
}

impl Source {
    fn prefix(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::Event => "event",
        }
    }
}

/// One `{{...}}` of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'t> {
    pub source: Source,
    pub name: &'t str,
    pub fallback: Option<String>,
}

impl Placeholder<'_> {
    /// `user.first_name`: the key under which the worker keeps its value.
    pub fn key(&self) -> String {
        format!("{}.{}", self.source.prefix(), self.name)
    }
}

enum Part<'t> {
    Literal(&'t str),
    Value(Placeholder<'t>),
}

/// Checks a text's placeholders; the message names the first bad one.
pub fn check(text: &str) -> Result<(), String> {
    parse(text).map(|_| ())
}

/// The placeholders of a text (already checked: a bad one is skipped).
pub fn placeholders(text: &str) -> Vec<Placeholder<'_>> {
    parse(text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| match p {
            Part::Value(v) => Some(v),
            Part::Literal(_) => None,
        })
        .collect()
}

/// The text with each placeholder replaced by its value (looked up by
/// `Placeholder::key`) or its fallback; `Err` names the first value that
/// is missing and has no fallback.
pub fn render<'v>(
    text: &str,
    value_of: impl Fn(&str) -> Option<&'v str>,
) -> Result<String, String> {
    let parts = parse(text)?;
    let mut out = String::with_capacity(text.len());
    for part in parts {
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::Value(p) => match (value_of(&p.key()), &p.fallback) {
                (Some(v), _) => out.push_str(v),
                (None, Some(f)) => out.push_str(f),
                (None, None) => return Err(p.key()),
            },
        }
    }
    Ok(out)
}

fn parse(text: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Literal(&rest[..open]));
        }
        let inner_start = open + 2;
        let Some(len) = rest[inner_start..].find("}}") else {
            return Err(format!(
                "\"{{{{\" at \"{}\" is not closed with \"}}}}\"",
                excerpt(&rest[open..])
            ));
        };
        let inner = &rest[inner_start..inner_start + len];
        parts.push(Part::Value(placeholder(inner)?));
        rest = &rest[inner_start + len + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest));
    }
    Ok(parts)
}

fn placeholder(inner: &str) -> Result<Placeholder<'_>, String> {
    let bad = |why: &str| format!("placeholder \"{{{{{inner}}}}}\" {why}");
    let (reference, fallback) = match inner.split_once('|') {
        Some((r, f)) => (r.trim(), Some(fallback(f.trim()).map_err(|w| bad(&w))?)),
        None => (inner.trim(), None),
    };
    let (source, name) = match reference.split_once('.') {
        Some(("user", n)) => (Source::User, n),
        Some(("event", n)) => (Source::Event, n),
        _ => {
            return Err(bad(
                "must name user.NAME or event.NAME (optionally | \"fallback\")",
            ))
        }
    };
    if name.is_empty() {
        return Err(bad("has no property name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(bad(&format!(
            "names a property longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "{}|\"".contains(c))
    {
        return Err(bad(
            "has a property name with a space, quote, brace or bar in it",
        ));
    }
    Ok(Placeholder {
        source,
        name,
        fallback,
    })
}

/// A fallback is a double-quoted string; `\"` and `\\` are its escapes.
fn fallback(s: &str) -> Result<String, String> {
    let Some(body) = s.strip_prefix('"').and_then(|b| b.strip_suffix('"')) else {
        return Err("has a fallback that is not a \"double-quoted\" text".into());
    };
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('"' | '\\')) => out.push(e),
                _ => return Err("has a fallback with an escape other than \\\" or \\\\".into()),
            },
            '"' => return Err("has a fallback with an unescaped quote inside".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn excerpt(s: &str) -> String {
    s.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(key: &str) -> Option<&'static str> {
        match key {
            "user.first_name" => Some("Lin"),
            "event.amount" => Some("120"),
            "user.tricky" => Some("{{user.first_name}} <b>"),
            _ => None,
        }
    }

    #[test]
    fn placeholders_are_replaced_by_values_as_plain_text() {
        assert_eq!(
            render("Hi {{user.first_name}}, ¥{{ event.amount }} off!", values).unwrap(),
            "Hi Lin, ¥120 off!"
        );
        // A value is never read again as a placeholder or markup.
        assert_eq!(
            render("{{user.tricky}}", values).unwrap(),
            "{{user.first_name}} <b>"
        );
        assert_eq!(
            render("no placeholders }} here", values).unwrap(),
            "no placeholders }} here"
        );
    }

    #[test]
    fn a_missing_value_takes_the_fallback_or_is_an_error() {
        assert_eq!(
            render("Hi {{user.nickname | \"there\"}}!", values).unwrap(),
            "Hi there!"
        );
        assert_eq!(
            render("{{user.nickname|\"say \\\"hi\\\" \\\\ \"}}", values).unwrap(),
            "say \"hi\" \\ "
        );
        assert_eq!(
            render("Hi {{user.nickname}}", values).unwrap_err(),
            "user.nickname"
        );
        // A present value wins over the fallback.
        assert_eq!(
            render("{{user.first_name | \"x\"}}", values).unwrap(),
            "Lin"
        );
    }

    #[test]
    fn unknown_forms_are_refused_with_a_reason() {
        for (text, why) in [
            ("Hi {{first_name}}", "must name user.NAME or event.NAME"),
            ("Hi {{usr.name}}", "must name user.NAME or event.NAME"),
            ("Hi {{user.}}", "has no property name"),
            ("Hi {{user.first name}}", "space, quote, brace or bar"),
            ("Hi {{user.name", "is not closed"),
            ("Hi {{user.name | there}}", "not a \"double-quoted\" text"),
            ("Hi {{user.name | \"a\"b\"}}", "unescaped quote"),
            ("Hi {{user.name | \"\\n\"}}", "an escape other than"),
            ("{{}}", "must name user.NAME"),
        ] {
            let e = check(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
        let long = format!("{{{{user.{}}}}}", "n".repeat(MAX_NAME_CHARS + 1));
        assert!(check(&long).unwrap_err().contains("longer than 255"));
    }

    #[test]
    fn placeholders_lists_what_a_text_needs() {
        let p = placeholders("{{user.a}} and {{event.b | \"x\"}}");
        let keys: Vec<String> = p.iter().map(Placeholder::key).collect();
        assert_eq!(keys, ["user.a", "event.b"]);
        assert_eq!(p[1].fallback.as_deref(), Some("x"));
    }
}
