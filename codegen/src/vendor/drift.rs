//! Drift reports between two DAP schemas: definitions added/removed and, per definition,
//! property-level changes, with `allOf` inheritance resolved so message definitions are
//! compared by their effective content.
//!
//! Line format (sorted by definition, then by property path):
//! - `+ definition Name` / `- definition Name`
//! - `+ property Name.path` / `- property Name.path`
//! - `~ Name[.path]: <what changed>` (type, format, enum/_enum values, required set,
//!   `description changed`, other keywords)
//!
//! A change inherited from a base definition (through `allOf`) is reported once, on the base.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Longest rendering of a keyword value shown inline; longer ones read "... changed".
const INLINE_LIMIT: usize = 80;

/// Maximum `allOf` nesting followed when resolving a definition.
const MAX_DEPTH: u8 = 16;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Added(String),
    Removed(String),
    Changed(String, String),
}

/// A drift report between an old and a new schema.
#[derive(Debug, Default)]
pub(crate) struct Drift {
    /// Definitions only in the new schema.
    pub added: usize,
    /// Definitions only in the old schema.
    pub removed: usize,
    /// Definitions present in both whose content differs.
    pub changed: usize,
    /// Report lines, deterministic and sorted.
    pub lines: Vec<String>,
}

impl Drift {
    /// One-line summary of the counts.
    pub(crate) fn summary(&self) -> String {
        let plural = |n: usize| if n == 1 { "definition" } else { "definitions" };
        format!(
            "{} {} added, {} removed, {} changed",
            self.added,
            plural(self.added),
            self.removed,
            self.changed
        )
    }
}

/// Compares two schemas (already checked to be DAP schemas).
pub(crate) fn compare(old: &Value, new: &Value) -> Drift {
    let mut drift = Drift::default();
    let empty = Map::new();
    let old_defs = definitions(old).unwrap_or(&empty);
    let new_defs = definitions(new).unwrap_or(&empty);

    // Top-level keywords other than `definitions` (title, description, ...).
    let top_old = without_definitions(old);
    let top_new = without_definitions(new);
    let mut top = Vec::new();
    node_changes("", &top_old, &top_new, &mut top);
    render("(schema)", &top, &mut drift.lines);

    let names: BTreeSet<&String> = old_defs.keys().chain(new_defs.keys()).collect();
    let mut cache = BTreeMap::new();
    for name in names {
        match (old_defs.get(name.as_str()), new_defs.get(name.as_str())) {
            (Some(_), None) => {
                drift.removed += 1;
                drift.lines.push(format!("- definition {name}"));
            }
            (None, Some(_)) => {
                drift.added += 1;
                drift.lines.push(format!("+ definition {name}"));
            }
            (Some(a), Some(b)) if a != b => {
                drift.changed += 1;
                let mut own = definition_changes(name, old_defs, new_defs, &mut cache);
                let mut inherited = BTreeSet::new();
                for base in bases(a).into_iter().chain(bases(b)) {
                    if old_defs.contains_key(&base) && new_defs.contains_key(&base) {
                        inherited.extend(definition_changes(&base, old_defs, new_defs, &mut cache));
                    }
                }
                own.retain(|c| !inherited.contains(c));
                if own.is_empty() {
                    let why = if resolve(old_defs, a, 0) == resolve(new_defs, b, 0) {
                        "allOf layout changed (resolved content identical)"
                    } else {
                        "changed only as its base definitions did"
                    };
                    own.push(Change::Changed(String::new(), why.into()));
                }
                render(name, &own, &mut drift.lines);
            }
            _ => {}
        }
    }
    drift
}

fn definitions(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("definitions").and_then(Value::as_object)
}

fn without_definitions(schema: &Value) -> Value {
    let mut top = schema.as_object().cloned().unwrap_or_default();
    top.remove("definitions");
    Value::Object(top)
}

/// Changes of one definition's resolved content (memoized by name).
fn definition_changes(
    name: &str,
    old_defs: &Map<String, Value>,
    new_defs: &Map<String, Value>,
    cache: &mut BTreeMap<String, Vec<Change>>,
) -> Vec<Change> {
    if let Some(hit) = cache.get(name) {
        return hit.clone();
    }
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (old_defs.get(name), new_defs.get(name)) {
        node_changes(
            "",
            &resolve(old_defs, a, 0),
            &resolve(new_defs, b, 0),
            &mut out,
        );
    }
    out.sort();
    cache.insert(name.to_owned(), out.clone());
    out
}

/// Names of the definitions a definition extends through `allOf` `$ref`s.
fn bases(def: &Value) -> Vec<String> {
    def.get("allOf")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("$ref").and_then(Value::as_str))
                .filter_map(|r| r.strip_prefix("#/definitions/"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Flattens `allOf` into one object schema: later members override earlier ones per
/// property, `required` lists are united, other keywords are overridden.
fn resolve(defs: &Map<String, Value>, node: &Value, depth: u8) -> Value {
    let Some(obj) = node.as_object() else {
        return node.clone();
    };
    let Some(Value::Array(members)) = obj.get("allOf") else {
        return node.clone();
    };
    if depth >= MAX_DEPTH {
        return node.clone();
    }
    let mut out = Map::new();
    for member in members {
        let target = member
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.get("$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/definitions/"))
            .and_then(|n| defs.get(n));
        merge_into(&mut out, resolve(defs, target.unwrap_or(member), depth + 1));
    }
    let rest: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "allOf")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    merge_into(&mut out, Value::Object(rest));
    Value::Object(out)
}

fn merge_into(out: &mut Map<String, Value>, part: Value) {
    let Value::Object(part) = part else { return };
    for (key, value) in part {
        match (key.as_str(), out.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(props)) => {
                existing.extend(props);
            }
            ("required", Some(Value::Array(existing)), Value::Array(names)) => {
                for n in names {
                    if !existing.contains(&n) {
                        existing.push(n);
                    }
                }
            }
            (_, _, value) => {
                out.insert(key, value);
            }
        }
    }
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else if segment.starts_with('[') {
        format!("{path}{segment}")
    } else {
        format!("{path}.{segment}")
    }
}

/// Collects the changes between two schema nodes located at `path`.
fn node_changes(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else {
        out.push(Change::Changed(
            path.to_owned(),
            inline_change("schema", Some(old), Some(new)),
        ));
        return;
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let (x, y) = (a.get(key.as_str()), b.get(key.as_str()));
        if x == y {
            continue;
        }
        match (key.as_str(), x, y) {
            ("properties", Some(Value::Object(px)), Some(Value::Object(py))) => {
                let names: BTreeSet<&String> = px.keys().chain(py.keys()).collect();
                for name in names {
                    let sub = join(path, name);
                    match (px.get(name.as_str()), py.get(name.as_str())) {
                        (Some(_), None) => out.push(Change::Removed(sub)),
                        (None, Some(_)) => out.push(Change::Added(sub)),
                        (Some(p), Some(q)) => node_changes(&sub, p, q, out),
                        (None, None) => {}
                    }
                }
            }
            ("properties", _, _) => {
                let props = |v: Option<&Value>| -> Vec<String> {
                    v.and_then(Value::as_object)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default()
                };
                props(x)
                    .into_iter()
                    .for_each(|p| out.push(Change::Removed(join(path, &p))));
                props(y)
                    .into_iter()
                    .for_each(|p| out.push(Change::Added(join(path, &p))));
            }
            ("items", Some(p @ Value::Object(_)), Some(q @ Value::Object(_))) => {
                node_changes(&join(path, "[]"), p, q, out);
            }
            ("additionalProperties", Some(p @ Value::Object(_)), Some(q @ Value::Object(_))) => {
                node_changes(&join(path, "{*}"), p, q, out);
            }
            ("description", _, _) => {
                out.push(Change::Changed(
                    path.to_owned(),
                    "description changed".into(),
                ));
            }
            ("enum" | "_enum" | "required", _, _) => {
                out.push(Change::Changed(path.to_owned(), set_change(key, x, y)));
            }
            _ => out.push(Change::Changed(path.to_owned(), inline_change(key, x, y))),
        }
    }
}

/// Describes a change of a list-valued keyword (enum values, required names) as a set diff.
fn set_change(key: &str, old: Option<&Value>, new: Option<&Value>) -> String {
    let (Some(Value::Array(_)) | None, Some(Value::Array(_)) | None) = (old, new) else {
        return inline_change(key, old, new);
    };
    let items = |v: Option<&Value>| -> Vec<Value> {
        v.and_then(Value::as_array).cloned().unwrap_or_default()
    };
    let (a, b) = (items(old), items(new));
    let added: Vec<String> = b
        .iter()
        .filter(|v| !a.contains(v))
        .map(Value::to_string)
        .collect();
    let removed: Vec<String> = a
        .iter()
        .filter(|v| !b.contains(v))
        .map(Value::to_string)
        .collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    if parts.is_empty() {
        if old.is_none() || new.is_none() {
            return inline_change(key, old, new);
        }
        return format!("{key} order changed");
    }
    format!("{key} {}", parts.join("; "))
}

/// `key: old -> new` with compact JSON, or `key changed` when either side is long.
fn inline_change(key: &str, old: Option<&Value>, new: Option<&Value>) -> String {
    let show = |v: Option<&Value>| v.map_or_else(|| "(none)".to_owned(), Value::to_string);
    let (a, b) = (show(old), show(new));
    if a.len() > INLINE_LIMIT || b.len() > INLINE_LIMIT {
        format!("{key} changed")
    } else {
        format!("{key}: {a} -> {b}")
    }
}

fn render(name: &str, changes: &[Change], lines: &mut Vec<String>) {
    let mut sorted = changes.to_vec();
    sorted.sort();
    sorted.dedup();
    // Order by path first so each property's lines stay together.
    sorted.sort_by(|x, y| path_of(x).cmp(path_of(y)).then(x.cmp(y)));
    for change in sorted {
        lines.push(match change {
            Change::Added(p) => format!("+ property {}", join(name, &p)),
            Change::Removed(p) => format!("- property {}", join(name, &p)),
            Change::Changed(p, what) if p.is_empty() => format!("~ {name}: {what}"),
            Change::Changed(p, what) => format!("~ {}: {what}", join(name, &p)),
        });
    }
}

fn path_of(change: &Change) -> &str {
    match change {
        Change::Added(p) | Change::Removed(p) | Change::Changed(p, _) => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(defs: Value) -> Value {
        json!({"$schema": "http://json-schema.org/draft-04/schema#", "definitions": defs})
    }

    #[test]
    fn identical_is_empty() {
        let s = schema(json!({"A": {"type": "object"}}));
        let d = compare(&s, &s);
        assert!(d.lines.is_empty());
        assert_eq!(d.summary(), "0 definitions added, 0 removed, 0 changed");
    }

    #[test]
    fn inherited_changes_reported_on_base_only() {
        let base = |desc: &str| json!({"type": "object", "properties": {"seq": {"type": "integer", "description": desc}}});
        let child = |extra: &str| {
            json!({"allOf": [{"$ref": "#/definitions/Base"},
            {"type": "object", "properties": {extra: {"type": "string"}}}]})
        };
        let old = schema(json!({"Base": base("old"), "Child": child("a")}));
        let new = schema(json!({"Base": base("new"), "Child": child("b")}));
        let d = compare(&old, &new);
        assert_eq!(
            d.lines,
            vec![
                "~ Base.seq: description changed",
                "- property Child.a",
                "+ property Child.b"
            ]
        );
    }

    #[test]
    fn keyword_and_nested_changes() {
        let old = schema(
            json!({"A": {"type": "object", "required": ["x"], "properties": {
            "x": {"type": "integer", "maximum": 5},
            "list": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}}}}}),
        );
        let new = schema(
            json!({"A": {"type": "object", "required": ["y"], "properties": {
            "x": {"type": "integer", "format": "int32"},
            "list": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "number"}}}}}}}),
        );
        let d = compare(&old, &new);
        assert_eq!(
            d.lines,
            vec![
                "~ A: required added \"y\"; removed \"x\"",
                "~ A.list[].k: type: \"string\" -> \"number\"",
                "~ A.x: format: (none) -> \"int32\"",
                "~ A.x: maximum: 5 -> (none)",
            ]
        );
    }
}
