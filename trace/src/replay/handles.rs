//! Handles: the numbers an adapter hands out and a client sends back (thread ids, frame
//! ids, variables references, breakpoint ids, source references). A replay against a live
//! adapter learns which live handle stands for which recorded one by laying each live
//! response or event over its recorded counterpart, and rewrites the handles of the
//! requests it sends.

use super::edit::{Seg, edit_numbers};
use serde_json::Value;
use std::collections::HashMap;

/// What a handle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandleKind {
    /// `threadId`, `threads[].id`.
    Thread,
    /// `frameId`, `stackFrames[].id`.
    Frame,
    /// `variablesReference` (scopes, variables, evaluate results, …).
    Variables,
    /// `breakpoints[].id`, `breakpoint.id`, `hitBreakpointIds[]`.
    Breakpoint,
    /// `sourceReference`.
    Source,
}

impl HandleKind {
    /// The kind of handle a number at `path` is, if it is one.
    pub(crate) fn at(path: &[Seg<'_>]) -> Option<HandleKind> {
        let n = path.len();
        let last = *path.last()?;
        let parent = n.checked_sub(2).map(|i| path[i]);
        let grandparent = n.checked_sub(3).map(|i| path[i]);
        match last {
            Seg::Key("threadId") => Some(HandleKind::Thread),
            Seg::Key("frameId") => Some(HandleKind::Frame),
            Seg::Key("variablesReference") => Some(HandleKind::Variables),
            Seg::Key("sourceReference") => Some(HandleKind::Source),
            Seg::Key("id") => match (grandparent, parent) {
                (Some(Seg::Key("threads")), Some(Seg::Index(_))) => Some(HandleKind::Thread),
                (Some(Seg::Key("stackFrames")), Some(Seg::Index(_))) => Some(HandleKind::Frame),
                (Some(Seg::Key("breakpoints")), Some(Seg::Index(_))) => {
                    Some(HandleKind::Breakpoint)
                }
                (_, Some(Seg::Key("breakpoint"))) => Some(HandleKind::Breakpoint),
                _ => None,
            },
            Seg::Index(_) => match parent {
                Some(Seg::Key("hitBreakpointIds")) => Some(HandleKind::Breakpoint),
                Some(Seg::Key("threadIds")) => Some(HandleKind::Thread),
                _ => None,
            },
            Seg::Key(_) => None,
        }
    }
}

/// Recorded handle → live handle, per kind. Later observations replace earlier ones (an
/// adapter hands out fresh variables references at every stop). Bounded by the number of
/// handles in the recording (one entry per recorded handle value and kind).
#[derive(Clone, Debug, Default)]
pub struct HandleMap {
    map: HashMap<(HandleKind, i64), i64>,
}

impl HandleMap {
    /// An empty map.
    pub fn new() -> HandleMap {
        HandleMap::default()
    }

    /// The live handle for a recorded one, if learned.
    pub fn get(&self, kind: HandleKind, recorded: i64) -> Option<i64> {
        self.map.get(&(kind, recorded)).copied()
    }

    /// How many handles are known.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no handle is known.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Lays `live` over `recorded` (member by member, element by element) and learns every
    /// handle found at the same place in both. `0` (DAP's "no handle") is not learned.
    pub fn learn(&mut self, recorded: &Value, live: &Value) {
        let mut path = Vec::new();
        self.learn_at(&mut path, recorded, live);
    }

    fn learn_at<'a>(&mut self, path: &mut Vec<Seg<'a>>, recorded: &'a Value, live: &Value) {
        match (recorded, live) {
            (Value::Object(r), Value::Object(l)) => {
                for (key, rv) in r {
                    if let Some(lv) = l.get(key) {
                        path.push(Seg::Key(key));
                        self.learn_at(path, rv, lv);
                        path.pop();
                    }
                }
            }
            (Value::Array(r), Value::Array(l)) => {
                for (i, (rv, lv)) in r.iter().zip(l).enumerate() {
                    path.push(Seg::Index(i));
                    self.learn_at(path, rv, lv);
                    path.pop();
                }
            }
            (Value::Number(r), Value::Number(l)) => {
                if let (Some(kind), Some(r), Some(l)) =
                    (HandleKind::at(path), r.as_i64(), l.as_i64())
                    && r != 0
                {
                    self.map.insert((kind, r), l);
                }
            }
            _ => {}
        }
    }

    /// Rewrites the handles of a recorded message (JSON text) to their live values,
    /// byte-faithfully; handles not learned stay as recorded. Returns the new text and how
    /// many handles changed.
    pub(crate) fn rewrite(&self, text: &str) -> Result<(String, usize), String> {
        let mut changed = 0;
        let out = edit_numbers(text, &mut |path, spelled| {
            let kind = HandleKind::at(path)?;
            let recorded: i64 = spelled.parse().ok()?;
            let live = self.get(kind, recorded)?;
            if live == recorded {
                return None;
            }
            changed += 1;
            Some(live.to_string())
        })?;
        Ok((out, changed))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn learns_from_aligned_bodies_and_rewrites_requests() {
        let mut map = HandleMap::new();
        map.learn(
            &json!({"stackFrames": [{"id": 2, "line": 5}, {"id": 3, "line": 9}], "totalFrames": 2}),
            &json!({"stackFrames": [{"id": 11, "line": 5}, {"id": 12, "line": 9}], "totalFrames": 2}),
        );
        map.learn(&json!({"threadId": 1}), &json!({"threadId": 7}));
        map.learn(
            &json!({"scopes": [{"variablesReference": 4}, {"variablesReference": 0}]}),
            &json!({"scopes": [{"variablesReference": 40}, {"variablesReference": 0}]}),
        );
        assert_eq!(map.get(HandleKind::Frame, 3), Some(12));
        assert_eq!(map.get(HandleKind::Thread, 1), Some(7));
        assert_eq!(map.get(HandleKind::Variables, 0), None, "0 is no handle");
        // line numbers and totals are not handles
        assert_eq!(map.len(), 4);

        let (text, changed) = map
            .rewrite(r#"{"seq":9,"type":"request","command":"scopes","arguments":{"frameId":3, "line":3}}"#)
            .expect("valid");
        assert_eq!(changed, 1);
        assert_eq!(
            text,
            r#"{"seq":9,"type":"request","command":"scopes","arguments":{"frameId":12, "line":3}}"#
        );
        let (text, changed) = map
            .rewrite(r#"{"arguments":{"variablesReference":99,"threadId":1}}"#)
            .expect("valid");
        assert_eq!(changed, 1, "an unknown handle stays as recorded");
        assert_eq!(
            text,
            r#"{"arguments":{"variablesReference":99,"threadId":7}}"#
        );
    }

    #[test]
    fn kinds_follow_the_place_of_the_number() {
        let k = |path: &[Seg<'_>]| HandleKind::at(path);
        assert_eq!(
            k(&[
                Seg::Key("body"),
                Seg::Key("breakpoints"),
                Seg::Index(0),
                Seg::Key("id")
            ]),
            Some(HandleKind::Breakpoint)
        );
        assert_eq!(
            k(&[Seg::Key("breakpoint"), Seg::Key("id")]),
            Some(HandleKind::Breakpoint)
        );
        assert_eq!(
            k(&[Seg::Key("hitBreakpointIds"), Seg::Index(1)]),
            Some(HandleKind::Breakpoint)
        );
        assert_eq!(k(&[Seg::Key("body"), Seg::Key("id")]), None);
        assert_eq!(
            k(&[Seg::Key("source"), Seg::Key("sourceReference")]),
            Some(HandleKind::Source)
        );
    }
}
