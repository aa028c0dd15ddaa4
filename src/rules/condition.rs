//! and / or / not trees, shared by property predicates and behaviour
//! conditions.
//!
//! In a pack, a list of conditions means all of them (`"where": [a, b]`), and
//! an object with a single `and`, `or` or `not` key combines others:
//! `{"or": [a, b]}`, `{"not": a}`. Leaves are told apart by the key that names
//! their kind (`prop` for a property test; `count`, `sum`, … for behaviour).
//! An object that is neither is an error, never skipped.

use std::fmt;

use super::error::FieldError;
use super::reader::Node;

/// How deeply conditions may nest. Hand-written packs rarely go past three
/// levels; a deeper tree is a generator bug, and bounding it keeps evaluation's
/// recursion shallow on small mobile thread stacks.
pub const MAX_CONDITION_DEPTH: usize = 12;

/// Most conditions in one list (a `where`, an `and`, an `or`). Targeting
/// by hand uses a handful; a list of hundreds is a generator bug or a
/// segment that belongs on the server (a user tag), and each device would
/// hold and evaluate it on every event. With the depth limit it bounds a
/// campaign's conditions well below what the pack size alone would allow.
pub const MAX_CONDITIONS_PER_LIST: usize = 100;

/// A tree of leaves `L` combined with and / or / not.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition<L> {
    /// True when every child is (true when empty, which only a `where: []` writes).
    All(Box<[Condition<L>]>),
    /// True when at least one child is.
    Any(Box<[Condition<L>]>),
    Not(Box<Condition<L>>),
    Leaf(L),
}

impl<L> Condition<L> {
    /// Evaluates the tree, asking `leaf` about each leaf it needs, left to
    /// right, stopping as soon as the answer is known.
    pub fn eval(&self, leaf: &mut impl FnMut(&L) -> bool) -> bool {
        match self {
            Condition::All(children) => children.iter().all(|c| c.eval(leaf)),
            Condition::Any(children) => children.iter().any(|c| c.eval(leaf)),
            Condition::Not(child) => !child.eval(leaf),
            Condition::Leaf(l) => leaf(l),
        }
    }

    /// Calls `visit` on every leaf, in document order (for example to learn
    /// which counters a pack needs).
    pub fn for_each_leaf<'a>(&'a self, visit: &mut impl FnMut(&'a L)) {
        match self {
            Condition::All(children) | Condition::Any(children) => {
                children.iter().for_each(|c| c.for_each_leaf(visit))
            }
            Condition::Not(child) => child.for_each_leaf(visit),
            Condition::Leaf(l) => visit(l),
        }
    }

    /// Whether the tree is the empty `All`, which always holds.
    pub fn is_always_true(&self) -> bool {
        matches!(self, Condition::All(children) if children.is_empty())
    }
}

/// Canonical text: `(a and b)`, `(a or b)`, `not a`. Stable for equal trees, so
/// it can key state derived from a condition (such as a filtered counter).
impl<L: fmt::Display> fmt::Display for Condition<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, children: &[Condition<L>], word: &str| {
            if children.is_empty() {
                return f.write_str("true");
            }
            f.write_str("(")?;
            for (i, c) in children.iter().enumerate() {
                if i > 0 {
                    write!(f, " {word} ")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str(")")
        };
        match self {
            Condition::All(children) => join(f, children, "and"),
            Condition::Any(children) => join(f, children, "or"),
            Condition::Not(child) => write!(f, "not {child}"),
            Condition::Leaf(l) => write!(f, "{l}"),
        }
    }
}

/// What a leaf looks like to the tree reader: the keys that name its kinds,
/// and how to read one.
pub(crate) struct LeafReader<'a, L> {
    /// Keys whose presence makes an object a leaf of this tree, e.g. `["prop"]`.
    pub kinds: &'a [&'a str],
    /// The other keys a leaf may have (`op`, `value`, …): not named as the
    /// unknown kind when an object has no kind key.
    pub fields: &'a [&'a str],
    pub read: &'a dyn Fn(Node) -> Result<L, FieldError>,
}

/// Reads a list of conditions that must all hold (a `where`), flattening a
/// single condition to itself.
pub(crate) fn read_all<L>(node: &Node, leaf: &LeafReader<L>) -> Result<Condition<L>, FieldError> {
    read_list(node, leaf, 0, false)
        .map(Condition::All)
        .map(flatten)
}

fn read_list<L>(
    node: &Node,
    leaf: &LeafReader<L>,
    depth: usize,
    must_have_items: bool,
) -> Result<Box<[Condition<L>]>, FieldError> {
    let items = node.elements()?;
    if must_have_items && items.len() == 0 {
        return Err(node.error("must not be empty"));
    }
    if items.len() > MAX_CONDITIONS_PER_LIST {
        return Err(node.error(format!(
            "at most {MAX_CONDITIONS_PER_LIST} conditions in one list, found {}",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(read_condition(item, leaf, depth)?);
    }
    Ok(out.into_boxed_slice())
}

fn read_condition<L>(
    node: Node,
    leaf: &LeafReader<L>,
    depth: usize,
) -> Result<Condition<L>, FieldError> {
    if depth >= MAX_CONDITION_DEPTH {
        return Err(node.error(format!(
            "conditions nest deeper than {MAX_CONDITION_DEPTH} levels"
        )));
    }
    let object = node.map()?;
    let combinator = ["and", "or", "not"].into_iter().find(|k| object.has(k));
    if let Some(word) = combinator {
        let node = object.node();
        let object = node.object(&[word])?;
        let child = object.required(word)?;
        return Ok(match word {
            "and" => flatten(Condition::All(read_list(&child, leaf, depth + 1, true)?)),
            "or" => flatten(Condition::Any(read_list(&child, leaf, depth + 1, true)?)),
            _ => Condition::Not(Box::new(read_condition(child, leaf, depth + 1)?)),
        });
    }
    if leaf.kinds.iter().any(|k| object.has(k)) {
        return (leaf.read)(node).map(Condition::Leaf);
    }
    let mut expected: Vec<String> = leaf.kinds.iter().map(|k| format!("\"{k}\"")).collect();
    expected.extend(["\"and\"", "\"or\"", "\"not\""].map(String::from));
    let found = object.meaningful_keys().find(|k| !leaf.fields.contains(k));
    Err(node.error(match found {
        Some(key) => format!(
            "unknown condition \"{key}\" (a condition has one of {})",
            expected.join(", ")
        ),
        None => format!("a condition needs one of {}", expected.join(", ")),
    }))
}

/// A one-child `and` / `or` is its child.
fn flatten<L>(condition: Condition<L>) -> Condition<L> {
    match condition {
        Condition::All(children) | Condition::Any(children) if children.len() == 1 => {
            children.into_vec().pop().expect("one child")
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    /// Leaves `{"is": bool}`, enough to test the tree alone.
    fn read(json: serde_json::Value) -> Result<Condition<bool>, String> {
        let read_leaf = |n: Node| -> Result<bool, FieldError> {
            let o = n.object(&["is"])?;
            o.required("is")?.bool()
        };
        let leaf = LeafReader {
            kinds: &["is"],
            fields: &[],
            read: &read_leaf,
        };
        read_all(&Node::root(&Document::from(json)), &leaf).map_err(|e| e.to_string())
    }

    fn eval(json: serde_json::Value) -> bool {
        read(json).unwrap().eval(&mut |b| *b)
    }

    #[test]
    fn a_list_holds_at_most_the_limit_of_conditions() {
        let list = |n: usize| serde_json::Value::Array(vec![json!({"is": true}); n]);
        assert!(read(list(MAX_CONDITIONS_PER_LIST)).is_ok());
        let e = read(list(MAX_CONDITIONS_PER_LIST + 1)).unwrap_err();
        assert_eq!(e, "at most 100 conditions in one list, found 101");
        let e = read(json!([{"is": true}, {"or": list(MAX_CONDITIONS_PER_LIST + 1)}])).unwrap_err();
        assert!(e.starts_with("[1].or: at most 100 conditions"), "{e}");
    }

    #[test]
    fn a_list_means_all() {
        assert!(eval(json!([{"is": true}, {"is": true}])));
        assert!(!eval(json!([{"is": true}, {"is": false}])));
        assert!(eval(json!([])), "an empty where is no filter");
    }

    #[test]
    fn and_or_not_combine() {
        assert!(eval(json!([{"or": [{"is": false}, {"is": true}]}])));
        assert!(!eval(json!([{"and": [{"is": false}, {"is": true}]}])));
        assert!(eval(json!([{"not": {"is": false}}])));
        assert!(eval(
            json!([{"not": {"and": [{"is": true}, {"is": false}]}}])
        ));
    }

    #[test]
    fn single_children_flatten_away() {
        assert_eq!(read(json!([{"is": true}])).unwrap(), Condition::Leaf(true));
        assert_eq!(
            read(json!([{"or": [{"is": true}]}])).unwrap(),
            Condition::Leaf(true)
        );
    }

    #[test]
    fn unknown_and_malformed_conditions_are_errors() {
        assert_eq!(
            read(json!([{"is": true}, {"xor": []}])).unwrap_err(),
            "[1]: unknown condition \"xor\" (a condition has one of \"is\", \"and\", \"or\", \"not\")"
        );
        assert!(read(json!([{"label": "only a label"}]))
            .unwrap_err()
            .contains("needs one of"));
        assert_eq!(
            read(json!([{"or": []}])).unwrap_err(),
            "[0].or: must not be empty"
        );
        assert!(read(json!([{"and": [{"is": true}], "is": true}]))
            .unwrap_err()
            .contains("unknown key \"is\""));
        assert!(read(json!({"is": true}))
            .unwrap_err()
            .contains("expected an array"));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = json!({"is": true});
        for _ in 0..MAX_CONDITION_DEPTH {
            deep = json!({"not": deep});
        }
        assert!(read(json!([deep])).unwrap_err().contains("nest deeper"));
    }

    #[test]
    fn display_is_canonical() {
        let c =
            read(json!([{"is": true}, {"or": [{"is": false}, {"not": {"is": true}}]}])).unwrap();
        assert_eq!(c.to_string(), "(true and (false or not true))");
    }
}
