//! Merged breakpoints: each client's breakpoints kept apart, the adapter given their union.
//!
//! `setBreakpoints` replaces the breakpoints of one source, `setFunctionBreakpoints` and
//! `setDataBreakpoints` all of their kind, `setExceptionBreakpoints` the exception
//! filters. With several clients each of these would erase the others' breakpoints; the
//! proxy keeps every client's own list per [`MergeKey`], sends the adapter the union
//! (clients in the order they connected), and hands each client only the part of the
//! response that answers its own breakpoints ([`Merged::indices`]: the adapter's
//! response lists breakpoints in the order of the request's). When a client leaves, the
//! union without it is sent again.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// What one `set*Breakpoints` request replaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MergeKey {
    /// The breakpoints of one source (by `path`, else `sourceReference`, else `name`).
    Source(String),
    /// Function breakpoints.
    Function,
    /// Data breakpoints.
    Data,
    /// Exception filters and options.
    Exception,
}

impl MergeKey {
    /// The key of `command` with `arguments`, or `None` for other commands.
    pub fn of(command: &str, arguments: &Value) -> Option<MergeKey> {
        match command {
            "setBreakpoints" => {
                let source = arguments.get("source")?;
                let id = if let Some(p) = source.get("path").and_then(Value::as_str) {
                    format!("path:{p}")
                } else if let Some(r) = source.get("sourceReference").and_then(Value::as_i64) {
                    format!("ref:{r}")
                } else {
                    format!("name:{}", source.get("name").and_then(Value::as_str)?)
                };
                Some(MergeKey::Source(id))
            }
            "setFunctionBreakpoints" => Some(MergeKey::Function),
            "setDataBreakpoints" => Some(MergeKey::Data),
            "setExceptionBreakpoints" => Some(MergeKey::Exception),
            _ => None,
        }
    }

    /// The command that sets this kind.
    pub fn command(&self) -> &'static str {
        match self {
            MergeKey::Source(_) => "setBreakpoints",
            MergeKey::Function => "setFunctionBreakpoints",
            MergeKey::Data => "setDataBreakpoints",
            MergeKey::Exception => "setExceptionBreakpoints",
        }
    }
}

/// One client's part of one key: the arrays it sent.
#[derive(Clone, Debug, Default)]
struct Part {
    /// `breakpoints` (or `filters` for exceptions).
    items: Vec<Value>,
    /// Exceptions only: `filterOptions`.
    filter_options: Vec<Value>,
    /// Exceptions only: `exceptionOptions`.
    exception_options: Vec<Value>,
}

/// A union to send upstream, and where the requesting client's entries are in it.
#[derive(Debug)]
pub(crate) struct Merged {
    /// The arguments of the union request.
    pub arguments: Value,
    /// Positions of the client's entries in the response's `breakpoints`.
    pub indices: Vec<usize>,
}

/// Every client's breakpoints.
#[derive(Debug, Default)]
pub(crate) struct Breakpoints {
    parts: HashMap<MergeKey, BTreeMap<u32, Part>>,
    /// The last arguments seen per key (a source's `source` object, `sourceModified`).
    base: HashMap<MergeKey, Map<String, Value>>,
}

impl Breakpoints {
    /// Records `client`'s request and returns the union to send.
    pub fn set(&mut self, client: u32, key: &MergeKey, arguments: &Value) -> Merged {
        let part = match key {
            MergeKey::Exception => Part {
                items: array(arguments, "filters"),
                filter_options: array(arguments, "filterOptions"),
                exception_options: array(arguments, "exceptionOptions"),
            },
            MergeKey::Source(_) => {
                let mut items = array(arguments, "breakpoints");
                if arguments.get("breakpoints").is_none() {
                    // The deprecated form: `lines` only.
                    items = array(arguments, "lines")
                        .into_iter()
                        .map(|l| serde_json::json!({ "line": l }))
                        .collect();
                }
                Part {
                    items,
                    ..Part::default()
                }
            }
            MergeKey::Function | MergeKey::Data => Part {
                items: array(arguments, "breakpoints"),
                ..Part::default()
            },
        };
        if let Value::Object(map) = arguments {
            self.base.insert(key.clone(), map.clone());
        }
        self.parts
            .entry(key.clone())
            .or_default()
            .insert(client, part);
        self.union(key, Some(client))
    }

    /// Forgets `client`; returns the unions to send again (the keys it had entries in).
    pub fn remove(&mut self, client: u32) -> Vec<(MergeKey, Merged)> {
        let keys: Vec<MergeKey> = self
            .parts
            .iter_mut()
            .filter_map(|(k, parts)| parts.remove(&client).map(|_| k.clone()))
            .collect();
        keys.into_iter()
            .map(|k| {
                let merged = self.union(&k, None);
                (k, merged)
            })
            .collect()
    }

    /// The union of `key` over all clients, with `client`'s positions in it.
    fn union(&self, key: &MergeKey, client: Option<u32>) -> Merged {
        let empty = BTreeMap::new();
        let parts = self.parts.get(key).unwrap_or(&empty);
        let mut args = self.base.get(key).cloned().unwrap_or_default();
        let mut indices = Vec::new();
        match key {
            MergeKey::Exception => {
                let mut filters: Vec<Value> = Vec::new();
                let mut filter_options = Vec::new();
                let mut exception_options = Vec::new();
                let mut mine = (Vec::new(), Vec::new(), Vec::new());
                for (id, part) in parts {
                    for f in &part.items {
                        let at = match filters.iter().position(|g| g == f) {
                            Some(at) => at,
                            None => {
                                filters.push(f.clone());
                                filters.len() - 1
                            }
                        };
                        if Some(*id) == client {
                            mine.0.push(at);
                        }
                    }
                    for o in &part.filter_options {
                        if Some(*id) == client {
                            mine.1.push(filter_options.len());
                        }
                        filter_options.push(o.clone());
                    }
                    for o in &part.exception_options {
                        if Some(*id) == client {
                            mine.2.push(exception_options.len());
                        }
                        exception_options.push(o.clone());
                    }
                }
                indices.extend(mine.0);
                indices.extend(mine.1.into_iter().map(|i| i + filters.len()));
                indices.extend(
                    mine.2
                        .into_iter()
                        .map(|i| i + filters.len() + filter_options.len()),
                );
                args.insert("filters".into(), Value::Array(filters));
                if filter_options.is_empty() {
                    args.remove("filterOptions");
                } else {
                    args.insert("filterOptions".into(), Value::Array(filter_options));
                }
                if exception_options.is_empty() {
                    args.remove("exceptionOptions");
                } else {
                    args.insert("exceptionOptions".into(), Value::Array(exception_options));
                }
            }
            _ => {
                let mut all = Vec::new();
                for (id, part) in parts {
                    for bp in &part.items {
                        if Some(*id) == client {
                            indices.push(all.len());
                        }
                        all.push(bp.clone());
                    }
                }
                if matches!(key, MergeKey::Source(_)) {
                    let lines: Vec<Value> =
                        all.iter().filter_map(|b| b.get("line").cloned()).collect();
                    if args.contains_key("lines") {
                        args.insert("lines".into(), Value::Array(lines));
                    }
                }
                args.insert("breakpoints".into(), Value::Array(all));
            }
        }
        Merged {
            arguments: Value::Object(args),
            indices,
        }
    }
}

fn array(v: &Value, name: &str) -> Vec<Value> {
    v.get(name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// `body` with its `breakpoints` array cut down to the entries at `indices` (entries the
/// adapter left out are left out).
pub(crate) fn slice_body(body: &mut Value, indices: &[usize]) {
    if let Some(Value::Array(all)) = body.get("breakpoints") {
        let mine: Vec<Value> = indices
            .iter()
            .filter_map(|&i| all.get(i).cloned())
            .collect();
        body["breakpoints"] = Value::Array(mine);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source_args(lines: &[u64]) -> Value {
        let bps: Vec<Value> = lines.iter().map(|l| json!({ "line": l })).collect();
        json!({"source": {"path": "/a.py"}, "breakpoints": bps})
    }

    #[test]
    fn union_per_source_and_each_clients_slice() {
        let mut b = Breakpoints::default();
        let key = MergeKey::of("setBreakpoints", &source_args(&[3])).unwrap();
        let m1 = b.set(1, &key, &source_args(&[3, 4]));
        assert_eq!(m1.indices, vec![0, 1]);
        let m2 = b.set(2, &key, &source_args(&[9]));
        assert_eq!(
            m2.arguments["breakpoints"],
            json!([{"line":3},{"line":4},{"line":9}])
        );
        assert_eq!(m2.indices, vec![2]);
        let mut body = json!({"breakpoints": [{"id":1},{"id":2},{"id":3}]});
        slice_body(&mut body, &m2.indices);
        assert_eq!(body, json!({"breakpoints": [{"id":3}]}));
        let again = b.remove(1);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].1.arguments["breakpoints"], json!([{"line":9}]));
        assert!(
            b.remove(1).is_empty(),
            "a client removed twice has nothing left"
        );
    }

    #[test]
    fn exception_filters_are_united() {
        let mut b = Breakpoints::default();
        let key = MergeKey::Exception;
        b.set(1, &key, &json!({"filters": ["raised"]}));
        let m = b.set(2, &key, &json!({"filters": ["uncaught", "raised"], "filterOptions": [{"filterId": "userUnhandled"}]}));
        assert_eq!(m.arguments["filters"], json!(["raised", "uncaught"]));
        assert_eq!(m.indices, vec![1, 0, 2]);
        let again = b.remove(2);
        assert_eq!(again[0].1.arguments["filters"], json!(["raised"]));
        assert!(again[0].1.arguments.get("filterOptions").is_none());
    }
}
