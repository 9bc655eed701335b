//! Schema-driven conformance: random instances of every message the vendored DAP schema
//! defines (and debugpy's extension, with the `debugpy` feature) are generated from the
//! schema JSON itself, checked against the schema with `jsonschema`, then decoded into their
//! typed form, encoded back losslessly, and checked against the schema again. Recorded real
//! traffic that is valid on input must stay valid after a round trip.
//!
//! The generator is driven by the schema, not by the Rust types: it resolves `$ref` and
//! `allOf` (later parts override earlier ones), fills required properties always and
//! optional ones at random, honours `enum`, `_enum` (mostly listed values, sometimes
//! others), integer formats and bounds, union and "any" types, `additionalProperties`,
//! and adds undeclared properties where the schema allows them.
//!
//! Cases are deterministic: `DAPKIT_CONFORMANCE_SEED` (a `u64`) and
//! `DAPKIT_CONFORMANCE_CASES` (per definition, default 256) change them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_tests::{traffic, workspace_root};
use dapkit_types::{Event, ProtocolMessage, Request, Response};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

// ---------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------

/// The base schema's definitions, with the extension's merged in (feature `debugpy`).
struct Schema {
    /// Definitions as written in the schema files (what `jsonschema` validates against).
    defs: Map<String, Value>,
    /// The same definitions with every `allOf` merged (what the generator walks).
    flat: Map<String, Value>,
    /// Names of the definitions that come from the base schema.
    base_names: HashSet<String>,
}

fn read_json(rel: &str) -> Value {
    let path = workspace_root().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn definitions_of(schema: &Value, rel: &str) -> Map<String, Value> {
    schema
        .get("definitions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| panic!("{rel}: no `definitions`"))
}

impl Schema {
    fn load() -> Schema {
        const BASE: &str = "schema/debugAdapterProtocol.json";
        let base = definitions_of(&read_json(BASE), BASE);
        let base_names = base.keys().cloned().collect();
        #[allow(unused_mut)]
        let mut defs = base;
        #[cfg(feature = "debugpy")]
        {
            const EXT: &str = "schema/extensions/debugpy/debugProtocolCustom.json";
            for (name, def) in definitions_of(&read_json(EXT), EXT) {
                assert!(
                    !defs.contains_key(&name),
                    "{EXT}: `{name}` clashes with a base definition"
                );
                defs.insert(name, def);
            }
        }
        // dapkit-jupyter's tests turn on dapkit-types' `jupyter` feature, and feature
        // unification turns it on for every crate of a workspace build: load the Jupyter
        // extension whenever the typed crate has its requests.
        if Request::KNOWN.contains(&"dumpCell") {
            const EXT: &str = "schema/extensions/jupyter/jupyterDebugProtocol.json";
            for (name, def) in definitions_of(&read_json(EXT), EXT) {
                assert!(
                    !defs.contains_key(&name),
                    "{EXT}: `{name}` clashes with another definition"
                );
                defs.insert(name, def);
            }
        }
        let mut flat = Map::new();
        for (name, def) in &defs {
            flat.insert(name.clone(), flatten(def, &defs));
        }
        Schema {
            defs,
            flat,
            base_names,
        }
    }

    /// Follows `$ref` into the flattened definitions.
    fn deref<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(r) => node = self.flat_def(r),
                None => return node,
            }
        }
        panic!("`$ref` chain too long at {node}")
    }

    fn flat_def(&self, reference: &str) -> &Value {
        let name = reference
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("unsupported `$ref` {reference}"));
        self.flat
            .get(name)
            .unwrap_or_else(|| panic!("`$ref` to unknown definition {reference}"))
    }
}

/// Merges every `allOf` (its `$ref` parts expanded; later parts override earlier ones:
/// properties one by one, `required` as a union, other keywords whole), recursively into
/// properties, items, `additionalProperties` and `oneOf` branches. Other `$ref`s stay.
fn flatten(node: &Value, defs: &Map<String, Value>) -> Value {
    let Some(obj) = node.as_object() else {
        return node.clone();
    };
    let mut out = Map::new();
    if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let name = r.strip_prefix("#/definitions/").unwrap_or(r);
                    let target = defs
                        .get(name)
                        .unwrap_or_else(|| panic!("`$ref` to unknown definition {r}"));
                    flatten(target, defs)
                }
                None => flatten(part, defs),
            };
            merge(&mut out, &part);
        }
    }
    let mut own = Map::new();
    for (k, v) in obj {
        let v = match k.as_str() {
            "allOf" => continue,
            "properties" => Value::Object(
                v.as_object()
                    .map(|props| {
                        props
                            .iter()
                            .map(|(p, s)| (p.clone(), flatten(s, defs)))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            "items" | "additionalProperties" => flatten(v, defs),
            "oneOf" => Value::Array(
                v.as_array()
                    .map(|alts| alts.iter().map(|a| flatten(a, defs)).collect())
                    .unwrap_or_default(),
            ),
            _ => v.clone(),
        };
        own.insert(k.clone(), v);
    }
    merge(&mut out, &Value::Object(own));
    Value::Object(out)
}

fn merge(acc: &mut Map<String, Value>, part: &Value) {
    let Some(part) = part.as_object() else { return };
    for (k, v) in part {
        match k.as_str() {
            "properties" => {
                let slot = acc
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(into), Some(from)) = (slot.as_object_mut(), v.as_object()) {
                    for (p, s) in from {
                        into.insert(p.clone(), s.clone());
                    }
                }
            }
            "required" => {
                let slot = acc.entry(k.clone()).or_insert_with(|| json!([]));
                if let (Some(into), Some(from)) = (slot.as_array_mut(), v.as_array()) {
                    for r in from {
                        if !into.contains(r) {
                            into.push(r.clone());
                        }
                    }
                }
            }
            _ => {
                acc.insert(k.clone(), v.clone());
            }
        }
    }
}

/// What kind of message a definition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Request,
    Response,
    Event,
    Error,
}

/// A message definition: its name, kind and `command`/`event` (none for `ErrorResponse`).
#[derive(Clone, Debug)]
struct MessageDef {
    name: String,
    kind: Kind,
    tag: Option<String>,
}

/// Every definition that inherits `Request`, `Response` or `Event` through `allOf`, plus
/// `ErrorResponse`, computed from the schema.
fn message_definitions(schema: &Schema) -> Vec<MessageDef> {
    let mut out = Vec::new();
    for (name, def) in &schema.defs {
        let parents: Vec<&str> = def
            .get("allOf")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("$ref").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let kind = if name == "ErrorResponse" {
            Kind::Error
        } else if parents.contains(&"#/definitions/Request") && name.ends_with("Request") {
            Kind::Request
        } else if parents.contains(&"#/definitions/Response") && name.ends_with("Response") {
            Kind::Response
        } else if parents.contains(&"#/definitions/Event") && name.ends_with("Event") {
            Kind::Event
        } else {
            continue;
        };
        // A response's `command` is not constrained by its definition: it is the command of
        // the request of the same name (`AttachResponse` answers `AttachRequest`).
        let (source, key) = match kind {
            Kind::Request => (name.clone(), "command"),
            Kind::Response => (name.replace("Response", "Request"), "command"),
            Kind::Event => (name.clone(), "event"),
            Kind::Error => (String::new(), ""),
        };
        let tag = schema
            .flat
            .get(&source)
            .and_then(|flat| flat.pointer(&format!("/properties/{key}/enum")))
            .and_then(Value::as_array)
            .and_then(|e| match e.as_slice() {
                [Value::String(s)] => Some(s.clone()),
                _ => None,
            });
        if kind != Kind::Error {
            assert!(
                tag.is_some(),
                "{name}: no single-valued `{key}` enum in {source}"
            );
        }
        out.push(MessageDef {
            name: name.clone(),
            kind,
            tag,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

/// `jsonschema` draft-04 validators, one per schema node, built on demand.
struct Validators {
    defs: Value,
    cache: HashMap<String, jsonschema::Validator>,
}

impl Validators {
    fn new(schema: &Schema) -> Self {
        let mut defs = Value::Object(schema.defs.clone());
        dapkit_tests::join_descriptions(&mut defs);
        Validators {
            defs,
            cache: HashMap::new(),
        }
    }

    /// The validator of `node` (a schema fragment whose `$ref`s point into the definitions).
    fn get(&mut self, key: &str, node: &Value) -> &jsonschema::Validator {
        if !self.cache.contains_key(key) {
            let mut root = node.as_object().cloned().unwrap_or_default();
            root.insert("definitions".into(), self.defs.clone());
            let v = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft4)
                .build(&Value::Object(root))
                .unwrap_or_else(|e| panic!("{key}: schema does not compile: {e}"));
            self.cache.insert(key.to_owned(), v);
        }
        &self.cache[key]
    }

    fn definition(&mut self, name: &str) -> &jsonschema::Validator {
        let node = json!({ "$ref": format!("#/definitions/{name}") });
        self.get(name, &node)
    }

    /// Every schema violation of `instance` against definition `name`, as text.
    fn errors(&mut self, name: &str, instance: &Value) -> Vec<String> {
        self.definition(name)
            .iter_errors(instance)
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------

/// SplitMix64: small, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    /// True with probability `num/den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i128, hi: i128) -> i128 {
        let span = u128::try_from(hi - lo + 1).unwrap_or(1);
        lo + i128::try_from(u128::from(self.next_u64()) % span).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

/// Names for properties the schema does not declare, as real peers send them.
const EXTRA_NAMES: &[&str] = &[
    "__sessionId",
    "_vendorX",
    "x-dapkit",
    "$meta",
    "dapkitTrace",
    "presentationHint",
    "",
];

const STRING_PIECES: &[&str] = &[
    "a", "Z", "0", "9", " ", "_", "-", "/", "\\", "\"", "'", "\n", "\t", "\r", "\u{1}", "\u{1f}",
    "é", "ß", "日本", "😀", "{", "}", "[", "]", ":", ",", "null", "true", "$", "%", ".py",
];

const ANY_TYPES: &[&str] = &[
    "array", "boolean", "integer", "null", "number", "object", "string",
];

/// Deeper than this, optional properties and array items are left out.
const MAX_DEPTH: u32 = 6;

struct Gen<'s> {
    schema: &'s Schema,
    validators: &'s mut Validators,
    rng: Rng,
    /// `oneOf` nodes no generated value satisfied (by node address).
    unsatisfiable: &'s mut HashMap<usize, String>,
    /// How often each kind of choice was made, to check the generator's variety.
    seen: &'s mut BTreeMap<&'static str, u64>,
}

impl Gen<'_> {
    /// A value valid against `node`, or `None` if the node admits none this generator finds.
    fn value(&mut self, node: &Value, depth: u32, at: &str) -> Option<Value> {
        let node = self.schema.deref(node);
        if node.get("oneOf").is_some() {
            return self.one_of(node, depth, at);
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array) {
            return Some(self.rng.pick(values).clone());
        }
        let types: Vec<&str> = match node.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            Some(other) => panic!("{at}: unsupported `type` {other}"),
            None if node.get("properties").is_some() => vec!["object"],
            None => ANY_TYPES.to_vec(),
        };
        if types.len() == ANY_TYPES.len() {
            // The schema's way to say "any JSON value".
            return Some(self.any(depth));
        }
        let ty = *self.rng.pick(&types);
        Some(match ty {
            "object" => self.object(node, depth, at),
            "array" => {
                let n = if depth >= MAX_DEPTH {
                    0
                } else {
                    self.rng.below(4)
                };
                let mut items = Vec::new();
                for i in 0..n {
                    let item = match node.get("items") {
                        Some(s) => self.value(s, depth + 1, &format!("{at}/{i}")),
                        None => Some(self.any(depth + 1)),
                    };
                    items.extend(item);
                }
                Value::Array(items)
            }
            "string" => match node.get("_enum").and_then(Value::as_array) {
                Some(listed) if !self.rng.chance(1, 5) => self.rng.pick(listed).clone(),
                Some(_) => {
                    self.note("unlisted `_enum` value");
                    Value::String(self.string())
                }
                None => Value::String(self.string()),
            },
            "integer" => self.integer(node, at),
            "number" => self.number(node),
            "boolean" => Value::Bool(self.rng.chance(1, 2)),
            "null" => {
                self.note("null of a union type");
                Value::Null
            }
            other => panic!("{at}: unsupported type `{other}`"),
        })
    }

    /// Picks a branch and keeps its value only if exactly one branch accepts it (what
    /// `oneOf` means); remembers nodes where no attempt succeeds.
    fn one_of(&mut self, node: &Value, depth: u32, at: &str) -> Option<Value> {
        let addr = std::ptr::from_ref(node) as usize;
        if self.unsatisfiable.contains_key(&addr) {
            return None;
        }
        let alts = node.get("oneOf").and_then(Value::as_array)?;
        // Validate against the schema as written (branches are `$ref`s into `defs`).
        let written = json!({ "oneOf": alts });
        for _ in 0..16 {
            let branch = self.rng.pick(alts).clone();
            let Some(candidate) = self.value(&branch, depth, at) else {
                continue;
            };
            if self
                .validators
                .get(&format!("oneOf@{addr}"), &written)
                .is_valid(&candidate)
            {
                return Some(candidate);
            }
        }
        self.unsatisfiable.insert(addr, at.to_owned());
        None
    }

    fn object(&mut self, node: &Value, depth: u32, at: &str) -> Value {
        let empty = Map::new();
        let props = node
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        for (name, prop) in props {
            let needed = required.contains(&name.as_str());
            if !needed && (depth >= MAX_DEPTH || self.rng.chance(1, 2)) {
                continue;
            }
            match self.value(prop, depth + 1, &format!("{at}/{name}")) {
                Some(v) => {
                    out.insert(name.clone(), v);
                }
                None if needed => panic!("{at}/{name}: required, but no value satisfies it"),
                None => {}
            }
        }
        for name in &required {
            if !props.contains_key(*name) {
                // Required but not declared (debugpy's `PydevdAuthorizeArguments` requires
                // `command`): any value the object's other keys may take.
                let v = match node.get("additionalProperties") {
                    Some(s @ Value::Object(_)) => self.value(s, depth + 1, &format!("{at}/{name}")),
                    _ => Some(self.any(depth + 1)),
                };
                out.extend(v.map(|v| ((*name).to_owned(), v)));
            }
        }
        match node.get("additionalProperties") {
            Some(Value::Bool(false)) => {}
            Some(extra @ Value::Object(_)) => {
                // A dictionary: random keys, values of the given schema.
                for _ in 0..self.rng.below(4) {
                    let key = self.string();
                    if props.contains_key(&key) {
                        continue;
                    }
                    if let Some(v) = self.value(extra, depth + 1, &format!("{at}/{key}")) {
                        out.insert(key, v);
                    }
                }
            }
            _ => {
                // Undeclared properties are allowed: sometimes send some, as peers do.
                let (num, den) = if depth == 0 { (1, 3) } else { (1, 8) };
                if self.rng.chance(num, den) {
                    for _ in 0..=self.rng.below(2) {
                        let key = *self.rng.pick(EXTRA_NAMES);
                        if props.contains_key(key) {
                            continue;
                        }
                        let v = self.any(depth + 1);
                        self.note(if depth == 0 {
                            "undeclared top-level property"
                        } else {
                            "undeclared nested property"
                        });
                        out.insert(key.to_owned(), v);
                    }
                }
            }
        }
        Value::Object(out)
    }

    fn note(&mut self, what: &'static str) {
        *self.seen.entry(what).or_default() += 1;
    }

    fn string(&mut self) -> String {
        let n = self.rng.below(8);
        (0..n).map(|_| *self.rng.pick(STRING_PIECES)).collect()
    }

    fn integer(&mut self, node: &Value, at: &str) -> Value {
        let (flo, fhi): (i128, i128) = match node.get("format").and_then(Value::as_str) {
            Some("int32") => (i32::MIN.into(), i32::MAX.into()),
            Some("uint32") => (0, u32::MAX.into()),
            Some("int64") => (i64::MIN.into(), i64::MAX.into()),
            Some("uint64") => (0, u64::MAX.into()),
            // No format (`Module.id`): any integer; the types hold it as `i64`, and an
            // integer beyond `i64` is a quirk of its own (see the quirk fixtures).
            None => (i64::MIN.into(), i64::MAX.into()),
            Some(other) => panic!("{at}: unsupported integer format {other:?}"),
        };
        let bound = |k: &str| node.get(k).and_then(Value::as_i64).map(i128::from);
        let lo = bound("minimum").map_or(flo, |m| m.max(flo));
        let hi = bound("maximum").map_or(fhi, |m| m.min(fhi));
        assert!(lo <= hi, "{at}: empty integer range");
        let n = match self.rng.below(6) {
            0 => lo,
            1 => hi,
            2 => 0.max(lo).min(hi),
            3 => self.rng.range(lo.max(-100), hi.min(100).max(lo.max(-100))),
            _ => self.rng.range(lo, hi),
        };
        match (i64::try_from(n), u64::try_from(n)) {
            (Ok(i), _) => json!(i),
            (_, Ok(u)) => json!(u),
            _ => panic!("{at}: integer {n} out of JSON range"),
        }
    }

    /// A `number`: an integer (`50`), an integral float (`50.0`) or a value with a fraction;
    /// each must come back spelled as sent.
    fn number(&mut self, node: &Value) -> Value {
        let lo = node.get("minimum").and_then(Value::as_f64).unwrap_or(-1e6);
        let hi = node.get("maximum").and_then(Value::as_f64).unwrap_or(1e6);
        let unit = (self.next_unit() * (hi - lo)) + lo;
        match self.rng.below(3) {
            0 => json!(unit.floor() as i64),
            1 => json!(unit.floor()),
            _ => json!(unit),
        }
    }

    fn next_unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Any small JSON value.
    fn any(&mut self, depth: u32) -> Value {
        let leaf = depth >= MAX_DEPTH + 2;
        match self.rng.below(if leaf { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.chance(1, 2)),
            2 => match self.rng.below(4) {
                0 => json!(self.rng.next_u64()),
                1 => json!(self.rng.next_u64() as i64),
                _ => json!(self.rng.range(-1000, 1000) as i64),
            },
            3 => {
                // Floats as peers write them, integral ones included: kept as sent.
                let f = match self.rng.below(4) {
                    0 => 0.097_006_000_000_000_01,
                    1 => 1.0,
                    2 => -2.5e-8,
                    _ => (self.next_unit() - 0.5) * 1e6,
                };
                json!(f)
            }
            4 => Value::String(self.string()),
            5 => Value::Array(
                (0..self.rng.below(4))
                    .map(|_| self.any(depth + 1))
                    .collect(),
            ),
            _ => {
                let mut m = Map::new();
                for _ in 0..self.rng.below(4) {
                    let k = self.string();
                    let v = self.any(depth + 1);
                    m.insert(k, v);
                }
                Value::Object(m)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: not an integer: {e}")),
        Err(_) => default,
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// Whether `msg` took the typed form `def` describes, for an instance that succeeded or not.
fn takes_typed_form(def: &MessageDef, instance: &Value, msg: &ProtocolMessage) -> bool {
    let tag = def.tag.as_deref();
    let failed = instance.get("success") == Some(&Value::Bool(false));
    match (def.kind, msg) {
        (Kind::Request, ProtocolMessage::Request(r)) => {
            !matches!(r, Request::Custom(_)) && r.command() == tag
        }
        (Kind::Event, ProtocolMessage::Event(e)) => {
            !matches!(e, Event::Custom(_)) && e.event() == tag
        }
        (Kind::Error, ProtocolMessage::Response(r)) => matches!(r, Response::Error(_)),
        (Kind::Response, ProtocolMessage::Response(r)) if failed => {
            // A failed response is an error whatever its command.
            matches!(r, Response::Error(_)) && r.command() == tag
        }
        (Kind::Response, ProtocolMessage::Response(r)) => {
            !matches!(r, Response::Custom(_) | Response::Error(_)) && r.command() == tag
        }
        _ => false,
    }
}

/// Whether a valid instance is expected to decode as standard: always, except a failed
/// response whose body is not an object (valid for a bodiless response's "any" body, but
/// not an `ErrorResponse` body: the decoder keeps it as JSON, so the error is not standard).
fn expect_standard(instance: &Value) -> bool {
    let failed = instance.get("success") == Some(&Value::Bool(false));
    !failed || instance.get("body").is_none_or(Value::is_object)
}

/// Generates a case for `def`: the generator's own choices, plus message-level meaning
/// the schema cannot say (an `ErrorResponse` has `success: false`; other responses mostly
/// succeed).
fn generate(generator: &mut Gen<'_>, def: &MessageDef) -> Value {
    let node = json!({ "$ref": format!("#/definitions/{}", def.name) });
    let mut v = generator
        .value(&node, 0, &def.name)
        .unwrap_or_else(|| panic!("{}: no instance", def.name));
    let success = match def.kind {
        Kind::Error => Some(false),
        Kind::Response => Some(!generator.rng.chance(1, 8)),
        _ => None,
    };
    if let (Some(s), Some(m)) = (success, v.as_object_mut()) {
        m.insert("success".into(), Value::Bool(s));
        if let (Kind::Response, Some(command)) = (def.kind, &def.tag) {
            m.insert("command".into(), Value::String(command.clone()));
        }
    }
    v
}

fn fail(def: &MessageDef, case: u64, seed: u64, instance: &Value, why: &str) -> ! {
    let pretty = serde_json::to_string_pretty(instance).unwrap_or_default();
    panic!(
        "{} case {case} (DAPKIT_CONFORMANCE_SEED={seed}): {why}\ninstance:\n{pretty}",
        def.name
    )
}

#[test]
fn generated_instances_of_every_message_definition_round_trip() {
    let started = std::time::Instant::now();
    let schema = Schema::load();
    let defs = message_definitions(&schema);
    let seed = env_u64("DAPKIT_CONFORMANCE_SEED", 0x00da_9c17);
    let cases = env_u64("DAPKIT_CONFORMANCE_CASES", 256);
    let mut validators = Validators::new(&schema);
    let mut unsatisfiable = HashMap::new();
    // The distinct instances generated per definition.
    let mut exercised: BTreeMap<&str, HashSet<Vec<u8>>> = BTreeMap::new();
    let mut extras_seen = 0u64;
    let mut failed_responses = 0u64;
    let mut seen = BTreeMap::new();

    for def in &defs {
        let mut generator = Gen {
            schema: &schema,
            validators: &mut validators,
            rng: Rng(seed ^ fnv1a(&def.name)),
            unsatisfiable: &mut unsatisfiable,
            seen: &mut seen,
        };
        let mut instances = Vec::new();
        for _ in 0..cases {
            instances.push(generate(&mut generator, def));
        }
        for (case, instance) in instances.iter().enumerate() {
            let case = case as u64;
            // The generator's output must be valid, or the test proves nothing.
            let errors = validators.errors(&def.name, instance);
            if !errors.is_empty() {
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    &format!("generator broke the schema: {errors:#?}"),
                );
            }
            let bytes = serde_json::to_vec(instance).unwrap();
            let msg = ProtocolMessage::from_slice(&bytes).unwrap_or_else(|e| {
                fail(def, case, seed, instance, &format!("does not decode: {e}"))
            });
            if !takes_typed_form(def, instance, &msg) {
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    &format!("not in its typed form: {msg:?}"),
                );
            }
            if msg.is_standard() != expect_standard(instance) {
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    &format!("is_standard() is {}: {msg:?}", msg.is_standard()),
                );
            }
            let out = msg.as_data().expect("encodes");
            if &out != instance {
                let got = serde_json::to_string_pretty(&out).unwrap_or_default();
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    &format!("as_data differs; got:\n{got}"),
                );
            }
            let reencoded: Value = serde_json::from_slice(&msg.to_vec()).unwrap();
            if &reencoded != instance {
                let got = serde_json::to_string_pretty(&reencoded).unwrap_or_default();
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    &format!("to_vec differs; got:\n{got}"),
                );
            }
            let errors = validators.errors(&def.name, &reencoded);
            if !errors.is_empty() {
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    &format!("re-encoded JSON breaks the schema: {errors:#?}"),
                );
            }
            // The other decoding paths agree.
            let via_value = ProtocolMessage::from_data(instance.clone()).unwrap();
            if via_value != msg {
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    "from_data differs from from_slice",
                );
            }
            let via_serde: ProtocolMessage = serde_json::from_slice(&bytes).unwrap();
            if via_serde != msg {
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    "serde Deserialize differs from from_slice",
                );
            }
            // The message and its canonical spelling give the same typed message.
            let (direct, canonical) = dapkit_types::private::typed_both(&bytes);
            if direct != canonical {
                fail(
                    def,
                    case,
                    seed,
                    instance,
                    &format!("the message gives {direct:?}, its canonical spelling {canonical:?}"),
                );
            }
            if instance
                .as_object()
                .is_some_and(|m| m.keys().any(|k| EXTRA_NAMES.contains(&k.as_str())))
            {
                extras_seen += 1;
            }
            if def.kind == Kind::Response && instance["success"] == false {
                failed_responses += 1;
            }
            exercised
                .entry(def.name.as_str())
                .or_default()
                .insert(bytes.clone());
        }
    }

    // Every message definition of the schema was exercised, each with varied instances.
    let expected: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        exercised.keys().copied().collect::<Vec<_>>(),
        {
            let mut e = expected.clone();
            e.sort_unstable();
            e
        },
        "message definitions exercised"
    );
    if cases >= 2 {
        let uniform: Vec<&str> = exercised
            .iter()
            .filter(|(_, distinct)| distinct.len() < 2)
            .map(|(name, _)| *name)
            .collect();
        assert!(
            uniform.is_empty(),
            "{cases} cases gave one instance only for {uniform:?}"
        );
    }
    let base_count = defs
        .iter()
        .filter(|d| schema.base_names.contains(&d.name))
        .count();
    assert!(
        base_count > 100,
        "only {base_count} base message definitions"
    );
    #[cfg(feature = "debugpy")]
    assert!(
        defs.len() > base_count,
        "the debugpy extension defines messages too"
    );
    // The generator did produce the variety it claims.
    if cases >= 16 {
        assert!(
            extras_seen > 0,
            "no undeclared top-level properties generated"
        );
        assert!(failed_responses > 0, "no failed responses generated");
        for what in [
            "unlisted `_enum` value",
            "null of a union type",
            "undeclared top-level property",
            "undeclared nested property",
        ] {
            assert!(
                seen.get(what).is_some_and(|&n| n > 0),
                "never generated: {what}"
            );
        }
    }
    for at in unsatisfiable.values() {
        eprintln!("note: no value satisfies the `oneOf` at {at}; left out");
    }
    eprintln!(
        "{} message definitions ({} base) x {cases} cases in {:?}; choices: {seen:?}",
        defs.len(),
        base_count,
        started.elapsed()
    );
}

#[test]
fn message_definition_count_matches_the_typed_names() {
    // Every request/response/event the schema defines has a typed variant, and back.
    let schema = Schema::load();
    let defs = message_definitions(&schema);
    let names = |kind: Kind| -> Vec<String> {
        let mut v: Vec<String> = defs
            .iter()
            .filter(|d| d.kind == kind)
            .filter_map(|d| d.tag.clone())
            .collect();
        v.sort();
        v
    };
    let known = |k: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = k.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(names(Kind::Request), known(Request::KNOWN), "requests");
    assert_eq!(names(Kind::Response), known(Response::KNOWN), "responses");
    assert_eq!(names(Kind::Event), known(Event::KNOWN), "events");
    assert_eq!(defs.iter().filter(|d| d.kind == Kind::Error).count(), 1);
}

/// The definition a decoded standard message belongs to.
fn definition_of(msg: &ProtocolMessage, defs: &[MessageDef]) -> Option<String> {
    let (kind, tag) = match msg {
        ProtocolMessage::Request(r) => (Kind::Request, r.command()),
        ProtocolMessage::Response(Response::Error(_)) => (Kind::Error, None),
        ProtocolMessage::Response(r) => (Kind::Response, r.command()),
        ProtocolMessage::Event(e) => (Kind::Event, e.event()),
        ProtocolMessage::Custom(_) => return None,
    };
    defs.iter()
        .find(|d| d.kind == kind && d.tag.as_deref() == tag)
        .map(|d| d.name.clone())
}

#[test]
fn recorded_traffic_stays_valid_after_a_round_trip() {
    let schema = Schema::load();
    let defs = message_definitions(&schema);
    let mut validators = Validators::new(&schema);
    let (mut checked, mut valid_in) = (0, 0);
    let mut peer_violations = Vec::new();
    for stream in traffic().expect("recorded traffic") {
        for (i, body) in stream.bodies.iter().enumerate() {
            let where_ = format!("{}/{} #{i}", stream.session, stream.side);
            let msg = ProtocolMessage::from_slice(body)
                .unwrap_or_else(|e| panic!("{where_}: does not decode: {e}"));
            if !msg.is_standard() {
                continue;
            }
            let name = definition_of(&msg, &defs)
                .unwrap_or_else(|| panic!("{where_}: standard message without a definition"));
            let input: Value = serde_json::from_slice(body).unwrap();
            let output: Value = serde_json::from_slice(&msg.to_vec()).unwrap();
            checked += 1;
            let errors_in = validators.errors(&name, &input);
            let errors_out = validators.errors(&name, &output);
            if errors_in.is_empty() {
                valid_in += 1;
                assert!(
                    errors_out.is_empty(),
                    "{where_} ({name}): valid input, invalid output: {errors_out:#?}\n{output}"
                );
            } else {
                peer_violations.push(format!("{where_} ({name}): {}", errors_in.join("; ")));
            }
        }
    }
    for v in &peer_violations {
        eprintln!("peer breaks the schema: {v}");
    }
    eprintln!(
        "{checked} standard recorded messages checked, {valid_in} valid, {} peer violations",
        peer_violations.len()
    );
    assert!(checked > 200, "expected the full recordings, got {checked}");
    assert!(
        valid_in > checked / 2,
        "most recorded messages should be valid"
    );
}
