//! The schema model: definitions read from the base schema and extension schemas, `allOf`
//! resolved, messages told from types, and every property given a Rust type.
//!
//! This is where the generator decides *what* to emit; `emit/` decides how it is spelled.

use crate::json::Json;
use crate::naming::{pascal, snake, unique};
use std::collections::BTreeMap;

/// A schema to generate from: the base DAP schema, or an extension on top of it.
#[derive(Clone, Debug)]
pub struct Source {
    /// The parsed schema document.
    pub doc: Json,
    /// The cargo feature that gates this schema's items (`None` for the base schema).
    pub feature: Option<String>,
}

/// A Rust type of a property.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// `bool`
    Bool,
    /// `i32`
    I32,
    /// `u32`
    U32,
    /// `i64`
    I64,
    /// `u64`
    U64,
    /// `f64`
    F64,
    /// `String`
    String,
    /// Any JSON (`serde_json::Value`).
    Value,
    /// An open JSON object (`serde_json::Map<String, Value>`).
    Object,
    /// A generated type.
    Named(String),
    /// `Vec<T>`
    Vec(Box<Ty>),
    /// `BTreeMap<String, T>`
    Map(Box<Ty>),
    /// `Option<T>` standing for a JSON `null` alternative.
    Nullable(Box<Ty>),
}

/// A struct field.
#[derive(Clone, Debug)]
pub struct Field {
    /// The JSON property name.
    pub json: String,
    /// The Rust field name.
    pub rust: String,
    /// The property's type (without the `Option` of optionality).
    pub ty: Ty,
    /// Whether the schema requires the property.
    pub required: bool,
    /// Doc lines source text.
    pub doc: Option<String>,
    /// Inclusive bounds the schema gives, for validation.
    pub minimum: Option<i64>,
    /// See `minimum`.
    pub maximum: Option<i64>,
}

/// A constant member of a message (`"type": "request"`, `"command": "launch"`, `"success": true`).
#[derive(Clone, Debug)]
pub struct Tag {
    /// The JSON property name.
    pub json: String,
    /// Its value.
    pub value: TagValue,
}

/// The value of a [`Tag`].
#[derive(Clone, Debug)]
pub enum TagValue {
    /// A string constant.
    Str(String),
    /// A boolean constant.
    Bool(bool),
}

/// A struct to generate.
#[derive(Clone, Debug)]
pub struct StructDef {
    /// Rust (and, for definitions, schema) name.
    pub name: String,
    /// Description.
    pub doc: Option<String>,
    /// Fields in schema order.
    pub fields: Vec<Field>,
    /// Constant members, checked on decode and written on encode.
    pub tags: Vec<Tag>,
    /// Gating feature.
    pub feature: Option<String>,
    /// The schema definition this comes from (for inline types, the enclosing one).
    pub origin: String,
}

/// A string enum to generate.
#[derive(Clone, Debug)]
pub struct EnumDef {
    /// Rust name.
    pub name: String,
    /// Description.
    pub doc: Option<String>,
    /// `(json value, Rust variant, description)`.
    pub variants: Vec<(String, String, Option<String>)>,
    /// `_enum` (open: other values are expected) rather than `enum` (closed).
    pub open: bool,
    /// Gating feature.
    pub feature: Option<String>,
}

/// An untagged union to generate (`["integer", "string"]`, `oneOf`).
#[derive(Clone, Debug)]
pub struct UnionDef {
    /// Rust name.
    pub name: String,
    /// Description.
    pub doc: Option<String>,
    /// `(variant, type)`; on decode the first that accepts the value wins.
    pub variants: Vec<(String, Ty)>,
    /// Gating feature.
    pub feature: Option<String>,
}

/// A generated item.
#[derive(Clone, Debug)]
pub enum Item {
    /// A struct.
    Struct(StructDef),
    /// A string enum.
    Enum(EnumDef),
    /// A union.
    Union(UnionDef),
}

impl Item {
    /// The item's Rust name.
    pub fn name(&self) -> &str {
        match self {
            Item::Struct(s) => &s.name,
            Item::Enum(e) => &e.name,
            Item::Union(u) => &u.name,
        }
    }
}

/// Which side sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to debug adapter.
    ToAdapter,
    /// Debug adapter to client: a reverse request.
    ToClient,
}

/// A request, event or response message.
#[derive(Clone, Debug)]
pub struct Message {
    /// The message struct (`InitializeRequest`), with `seq` and its payload field.
    pub def: StructDef,
    /// Variant name in the dispatch enum (`Initialize`).
    pub variant: String,
    /// The command or event name.
    pub wire: String,
    /// The payload field (`arguments` or `body`) if the message has one.
    pub payload: Option<Field>,
    /// For requests: who sends it.
    pub direction: Direction,
    /// For requests: the capability that gates it, where the schema names one.
    pub capability: Option<String>,
}

/// Everything the emitter needs.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Non-message types, in schema order, then inline types.
    pub types: Vec<Item>,
    /// Request messages.
    pub requests: Vec<Message>,
    /// Response messages (success), each answering the request of the same variant.
    pub responses: Vec<Message>,
    /// Event messages.
    pub events: Vec<Message>,
    /// The error response.
    pub error_response: Option<StructDef>,
}

/// A definition with `allOf` resolved.
#[derive(Clone, Debug, Default)]
struct Flat {
    description: Option<String>,
    /// `(name, schema, definition that declares it)`.
    properties: Vec<(String, Json, String)>,
    required: Vec<String>,
    /// Names of definitions this one inherits from, nearest last.
    bases: Vec<String>,
    is_object: bool,
}

/// Schema errors the generator reports instead of guessing.
#[derive(Debug)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ModelError {}

struct Builder<'a> {
    defs: BTreeMap<String, (&'a Json, Option<String>)>,
    order: Vec<String>,
    inline: Vec<Item>,
    names: Vec<String>,
    /// Field types by (declaring definition, property): inherited properties share one type.
    field_types: BTreeMap<(String, String), Ty>,
}

/// Builds the model from the base schema and extensions (base first).
pub fn build(sources: &[Source]) -> Result<Model, ModelError> {
    let mut b = Builder {
        defs: BTreeMap::new(),
        order: Vec::new(),
        inline: Vec::new(),
        names: Vec::new(),
        field_types: BTreeMap::new(),
    };
    for source in sources {
        let defs = source
            .doc
            .get("definitions")
            .and_then(Json::as_object)
            .ok_or_else(|| ModelError("schema has no `definitions` object".into()))?;
        for (name, def) in defs {
            if b.defs.contains_key(name) {
                return Err(ModelError(format!(
                    "definition `{name}` is defined twice (an extension may not redefine a base definition)"
                )));
            }
            b.defs.insert(name.clone(), (def, source.feature.clone()));
            b.order.push(name.clone());
        }
    }
    for base in ["ProtocolMessage", "Request", "Response", "Event"] {
        if !b.defs.contains_key(base) {
            return Err(ModelError(format!(
                "schema lacks the base definition `{base}`"
            )));
        }
    }
    b.names = b.order.clone();

    let mut model = Model::default();
    let mut direction = Direction::ToAdapter;
    let mut current_feature: Option<String> = None;
    let order = b.order.clone();
    for name in &order {
        let Some(&(def, ref feature)) = b.defs.get(name) else {
            continue;
        };
        let feature = feature.clone();
        if feature != current_feature {
            // A new schema (an extension) starts outside any section.
            direction = Direction::ToAdapter;
            current_feature = feature.clone();
        }
        // The section title sits on the definition or on its first `allOf` part.
        let title = def.get("title").and_then(Json::as_str).or_else(|| {
            def.get("allOf").and_then(Json::as_array).and_then(|parts| {
                parts
                    .iter()
                    .find_map(|p| p.get("title").and_then(Json::as_str))
            })
        });
        if let Some(title) = title {
            direction = if title == "Reverse Requests" {
                Direction::ToClient
            } else {
                Direction::ToAdapter
            };
        }
        if matches!(
            name.as_str(),
            "ProtocolMessage" | "Request" | "Response" | "Event"
        ) {
            continue;
        }
        let flat = b.flatten(name, 0)?;
        let kind = ["Request", "Response", "Event"]
            .into_iter()
            .find(|k| flat.bases.iter().any(|base| base == k));
        match kind {
            Some("Request") => {
                let msg = b.message(name, &flat, "request", "command", "arguments", feature)?;
                let capability = def_description(def).and_then(|d| capability_of(&d));
                model.requests.push(Message {
                    direction,
                    capability,
                    ..msg
                });
            }
            Some("Event") => {
                model
                    .events
                    .push(b.message(name, &flat, "event", "event", "body", feature)?);
            }
            Some(_) if name == "ErrorResponse" => {
                model.error_response = Some(b.error_response(&flat)?);
            }
            Some(_) => {
                model
                    .responses
                    .push(b.message(name, &flat, "response", "command", "body", feature)?);
            }
            _ => {
                if let Some(item) = b.named_type(name, def, &flat, feature)? {
                    model.types.push(item);
                }
            }
        }
    }
    // Pair responses with requests by name; a response without a request is an error.
    for resp in &mut model.responses {
        let req = model
            .requests
            .iter()
            .find(|r| r.variant == resp.variant)
            .ok_or_else(|| {
                ModelError(format!(
                    "`{}` answers no request of that name",
                    resp.def.name
                ))
            })?;
        resp.wire = req.wire.clone();
        resp.def.tags = vec![
            Tag {
                json: "type".into(),
                value: TagValue::Str("response".into()),
            },
            Tag {
                json: "command".into(),
                value: TagValue::Str(req.wire.clone()),
            },
            Tag {
                json: "success".into(),
                value: TagValue::Bool(true),
            },
        ];
    }
    for req in &model.requests {
        if !model.responses.iter().any(|r| r.variant == req.variant) {
            return Err(ModelError(format!(
                "request `{}` has no response definition",
                req.def.name
            )));
        }
    }
    if model.error_response.is_none() {
        return Err(ModelError("schema lacks `ErrorResponse`".into()));
    }
    model.types.append(&mut b.inline);
    // A decoder tracks the constant and required members of an object in one `u64`, and the
    // encoder which declared members it wrote.
    let structs = model
        .types
        .iter()
        .filter_map(|i| match i {
            Item::Struct(s) => Some(s),
            _ => None,
        })
        .chain(
            [&model.requests, &model.responses, &model.events]
                .into_iter()
                .flatten()
                .map(|m| &m.def),
        )
        .chain(model.error_response.as_ref());
    for s in structs {
        let declared = s.tags.len() + s.fields.len();
        if declared > 64 {
            return Err(ModelError(format!(
                "`{}` declares {declared} members; at most 64 are supported",
                s.name
            )));
        }
    }
    Ok(model)
}

fn def_description(def: &Json) -> Option<String> {
    def.text("description").or_else(|| {
        def.get("allOf")
            .and_then(Json::as_array)
            .and_then(|parts| parts.iter().rev().find_map(|p| p.text("description")))
    })
}

/// The boolean capability a request's description says gates it: "Clients should only call
/// this request if the corresponding capability `X` is true", or for reverse requests "...
/// should only be called/sent if the corresponding client capability `X` is true".
fn capability_of(description: &str) -> Option<String> {
    const MARKERS: [&str; 3] = [
        "only call this request if the corresponding capability `",
        "only call this request if the capability `",
        "if the corresponding client capability `",
    ];
    MARKERS.iter().find_map(|marker| {
        let start = description.find(marker)? + marker.len();
        let rest = &description[start..];
        let end = rest.find('`')?;
        rest[end + 1..]
            .starts_with(" is true")
            .then(|| rest[..end].to_owned())
    })
}

impl<'a> Builder<'a> {
    fn def(&self, name: &str) -> Result<&'a Json, ModelError> {
        self.defs
            .get(name)
            .map(|(d, _)| *d)
            .ok_or_else(|| ModelError(format!("unknown reference to `{name}`")))
    }

    fn flatten(&self, name: &str, depth: usize) -> Result<Flat, ModelError> {
        if depth > 16 {
            return Err(ModelError(format!(
                "`allOf` chain of `{name}` is too deep or cyclic"
            )));
        }
        let def = self.def(name)?;
        let mut flat = Flat::default();
        match def.get("allOf").and_then(Json::as_array) {
            Some(parts) => {
                for part in parts {
                    if let Some(target) = ref_name(part) {
                        let base = self.flatten(&target, depth + 1)?;
                        flat.bases.extend(base.bases.iter().cloned());
                        flat.bases.push(target);
                        merge(&mut flat, base);
                    } else {
                        let own = Flat {
                            description: part.text("description"),
                            properties: own_properties(part, name),
                            required: part.strings("required"),
                            bases: Vec::new(),
                            is_object: true,
                        };
                        merge(&mut flat, own);
                    }
                }
            }
            None => {
                flat.description = def.text("description");
                flat.properties = own_properties(def, name);
                flat.required = def.strings("required");
                flat.is_object = def.get("type").and_then(Json::as_str) == Some("object")
                    || def.get("properties").is_some();
            }
        }
        Ok(flat)
    }

    fn fresh_name(&mut self, wanted: String) -> String {
        unique(wanted, &mut self.names)
    }

    /// Names and records a union found inline in `owner.prop`.
    fn inline_union(
        &mut self,
        owner: &str,
        prop: &str,
        schema: &Json,
        variants: Vec<(String, Ty)>,
        feature: Option<String>,
    ) -> Ty {
        let name = self.fresh_name(format!("{owner}{}", pascal(prop)));
        self.inline.push(Item::Union(UnionDef {
            name: name.clone(),
            doc: schema.text("description"),
            variants,
            feature,
        }));
        Ty::Named(name)
    }

    /// A message definition: tags, `seq`, payload and the other envelope fields.
    fn message(
        &mut self,
        name: &str,
        flat: &Flat,
        kind: &str,
        tag_key: &str,
        payload_key: &str,
        feature: Option<String>,
    ) -> Result<Message, ModelError> {
        let suffix = pascal(kind);
        let variant = name.strip_suffix(&suffix).unwrap_or(name).to_owned();
        let wire = match flat.properties.iter().find(|(k, _, _)| k == tag_key) {
            Some((_, schema, _)) => schema.strings("enum").into_iter().next(),
            None => None,
        };
        let wire = match (kind, wire) {
            (_, Some(w)) => w,
            ("response", None) => String::new(), // filled in from the request
            (_, None) => {
                return Err(ModelError(format!(
                    "`{name}` has no single-valued `{tag_key}` to dispatch on"
                )));
            }
        };
        let mut tags = vec![Tag {
            json: "type".into(),
            value: TagValue::Str(kind.into()),
        }];
        if kind != "response" {
            tags.push(Tag {
                json: tag_key.into(),
                value: TagValue::Str(wire.clone()),
            });
        }
        let skip: &[&str] = match kind {
            "response" => &["type", "command", "success"],
            _ => &["type", tag_key],
        };
        let fields = self.fields(name, flat, skip, feature.clone())?;
        let payload = fields.iter().find(|f| f.json == payload_key).cloned();
        Ok(Message {
            def: StructDef {
                name: name.to_owned(),
                doc: flat.description.clone(),
                fields,
                tags,
                feature,
                origin: name.to_owned(),
            },
            variant,
            wire,
            payload,
            direction: Direction::ToAdapter,
            capability: None,
        })
    }

    fn error_response(&mut self, flat: &Flat) -> Result<StructDef, ModelError> {
        let mut fields = self.fields("ErrorResponse", flat, &["type", "success"], None)?;
        // Real adapters send failed responses without a body; the schema requires one, the
        // decoder accepts its absence so that every failed response decodes as an error.
        for f in &mut fields {
            if f.json == "body" {
                f.required = false;
            }
        }
        Ok(StructDef {
            name: "ErrorResponse".into(),
            doc: flat.description.clone(),
            fields,
            tags: vec![
                Tag {
                    json: "type".into(),
                    value: TagValue::Str("response".into()),
                },
                Tag {
                    json: "success".into(),
                    value: TagValue::Bool(false),
                },
            ],
            feature: None,
            origin: "ErrorResponse".into(),
        })
    }

    /// A non-message definition.
    fn named_type(
        &mut self,
        name: &str,
        def: &'a Json,
        flat: &Flat,
        feature: Option<String>,
    ) -> Result<Option<Item>, ModelError> {
        let ty = def.get("type").and_then(Json::as_str);
        if ty == Some("string") {
            if let Some(e) = enum_def(name.to_owned(), def, feature.clone()) {
                return Ok(Some(Item::Enum(e)));
            }
        }
        if flat.is_object || def.get("allOf").is_some() {
            let fields = self.fields(name, flat, &[], feature.clone())?;
            return Ok(Some(Item::Struct(StructDef {
                name: name.to_owned(),
                doc: flat.description.clone(),
                fields,
                tags: Vec::new(),
                feature,
                origin: name.to_owned(),
            })));
        }
        Err(ModelError(format!(
            "definition `{name}` is neither an object nor a string enum; the generator does not know how to type it"
        )))
    }

    fn fields(
        &mut self,
        owner: &str,
        flat: &Flat,
        skip: &[&str],
        feature: Option<String>,
    ) -> Result<Vec<Field>, ModelError> {
        let mut taken: Vec<String> = Vec::new();
        let mut fields = Vec::new();
        for (json_name, schema, origin) in &flat.properties {
            if skip.contains(&json_name.as_str()) {
                continue;
            }
            let _ = owner;
            let key = (origin.clone(), json_name.clone());
            let ty = match self.field_types.get(&key) {
                Some(ty) => ty.clone(),
                None => {
                    let ty = self.ty(origin, json_name, schema, feature.clone())?;
                    self.field_types.insert(key, ty.clone());
                    ty
                }
            };
            let required = flat.required.contains(json_name);
            let rust = unique(snake(json_name), &mut taken);
            fields.push(Field {
                json: json_name.clone(),
                rust,
                ty,
                required,
                doc: schema.text("description"),
                // Bounds of an array apply to its items.
                minimum: bound(schema, "minimum"),
                maximum: bound(schema, "maximum"),
            });
        }
        Ok(fields)
    }

    /// The Rust type of a property schema; inline objects and enums become named items.
    fn ty(
        &mut self,
        owner: &str,
        prop: &str,
        schema: &Json,
        feature: Option<String>,
    ) -> Result<Ty, ModelError> {
        if let Some(target) = ref_name(schema) {
            self.def(&target)?;
            return Ok(Ty::Named(target));
        }
        if let Some(alts) = schema.get("oneOf").and_then(Json::as_array) {
            let mut variants = Vec::new();
            let mut taken = Vec::new();
            for (i, alt) in alts.iter().enumerate() {
                let ty = self.ty(owner, &format!("{prop}{i}"), alt, feature.clone())?;
                let vname = match &ty {
                    Ty::Named(n) => n
                        .strip_suffix("RequestArguments")
                        .or_else(|| n.strip_suffix("Arguments"))
                        .unwrap_or(n)
                        .to_owned(),
                    _ => format!("V{i}"),
                };
                variants.push((unique(vname, &mut taken), ty));
            }
            return Ok(self.inline_union(owner, prop, schema, variants, feature));
        }
        let types: Vec<String> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.clone()],
            Some(Json::Array(ts)) => ts
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            _ => return Ok(Ty::Value),
        };
        let non_null: Vec<&String> = types.iter().filter(|t| *t != "null").collect();
        let nullable = non_null.len() < types.len();
        if non_null.len() > 2 || (nullable && non_null.len() > 1) {
            return Ok(Ty::Value);
        }
        if non_null.len() == 2 {
            let mut variants = Vec::new();
            for t in &non_null {
                let ty = self.scalar(owner, prop, t, schema, feature.clone())?;
                variants.push((pascal(t), ty));
            }
            return Ok(self.inline_union(owner, prop, schema, variants, feature));
        }
        let Some(single) = non_null.first() else {
            return Ok(Ty::Value);
        };
        let ty = self.scalar(owner, prop, single, schema, feature)?;
        Ok(if nullable {
            Ty::Nullable(Box::new(ty))
        } else {
            ty
        })
    }

    fn scalar(
        &mut self,
        owner: &str,
        prop: &str,
        t: &str,
        schema: &Json,
        feature: Option<String>,
    ) -> Result<Ty, ModelError> {
        Ok(match t {
            "boolean" => Ty::Bool,
            "number" => Ty::F64,
            "integer" => match schema.get("format").and_then(Json::as_str) {
                Some("int32") => Ty::I32,
                Some("uint32") => Ty::U32,
                Some("uint64") => Ty::U64,
                _ => Ty::I64,
            },
            "string" => {
                let name = format!("{owner}{}", pascal(prop));
                match enum_def(name.clone(), schema, feature) {
                    Some(mut e) => {
                        e.name = self.fresh_name(name);
                        let n = e.name.clone();
                        self.inline.push(Item::Enum(e));
                        Ty::Named(n)
                    }
                    None => Ty::String,
                }
            }
            "array" => {
                let items = match schema.get("items") {
                    Some(items) => self.ty(owner, &format!("{prop}Item"), items, feature)?,
                    None => Ty::Value,
                };
                Ty::Vec(Box::new(items))
            }
            "object" => {
                let props = schema.get("properties").and_then(Json::as_object);
                match props {
                    Some(props) => {
                        let name = self.fresh_name(format!("{owner}{}", pascal(prop)));
                        let flat = Flat {
                            description: schema.text("description"),
                            properties: props
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone(), name.clone()))
                                .collect(),
                            required: schema.strings("required"),
                            bases: Vec::new(),
                            is_object: true,
                        };
                        let fields = self.fields(&name, &flat, &[], feature.clone())?;
                        self.inline.push(Item::Struct(StructDef {
                            name: name.clone(),
                            doc: schema.text("description"),
                            fields,
                            tags: Vec::new(),
                            feature,
                            origin: owner.to_owned(),
                        }));
                        Ty::Named(name)
                    }
                    None => match schema.get("additionalProperties") {
                        Some(ap @ Json::Object(_)) => Ty::Map(Box::new(self.ty(
                            owner,
                            &format!("{prop}Value"),
                            ap,
                            feature,
                        )?)),
                        _ => Ty::Object,
                    },
                }
            }
            other => {
                return Err(ModelError(format!(
                    "`{owner}.{prop}` has type `{other}`, which the generator does not know"
                )));
            }
        })
    }
}

fn merge(into: &mut Flat, from: Flat) {
    if from.description.is_some() {
        into.description = from.description;
    }
    for (name, schema, origin) in from.properties {
        match into.properties.iter_mut().find(|(k, _, _)| *k == name) {
            Some(slot) => {
                // An override without a description keeps the inherited one.
                let inherited = slot.1.text("description");
                slot.1 = match (schema.text("description"), inherited, schema) {
                    (None, Some(d), Json::Object(mut members)) => {
                        members.push(("description".into(), Json::String(d)));
                        Json::Object(members)
                    }
                    (_, _, schema) => schema,
                };
                slot.2 = origin;
            }
            None => into.properties.push((name, schema, origin)),
        }
    }
    for r in from.required {
        if !into.required.contains(&r) {
            into.required.push(r);
        }
    }
    into.is_object |= from.is_object;
}

fn own_properties(def: &Json, origin: &str) -> Vec<(String, Json, String)> {
    def.get("properties")
        .and_then(Json::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), origin.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn ref_name(schema: &Json) -> Option<String> {
    schema
        .get("$ref")
        .and_then(Json::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_owned)
}

fn bound(schema: &Json, key: &str) -> Option<i64> {
    schema
        .get(key)
        .or_else(|| schema.get("items").and_then(|items| items.get(key)))
        .and_then(as_i64)
}

fn as_i64(j: &Json) -> Option<i64> {
    match j {
        Json::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A string enum from `enum` (closed) or `_enum` (open); `None` for a plain string or a
/// single-valued tag.
fn enum_def(name: String, schema: &Json, feature: Option<String>) -> Option<EnumDef> {
    let (values, open) = match (schema.strings("enum"), schema.strings("_enum")) {
        (closed, _) if closed.len() > 1 => (closed, false),
        (_, open) if !open.is_empty() => (open, true),
        _ => return None,
    };
    let descriptions = schema.strings("enumDescriptions");
    let mut taken = vec!["Other".to_owned()];
    let variants = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                v.clone(),
                unique(pascal(v), &mut taken),
                descriptions.get(i).cloned(),
            )
        })
        .collect();
    Some(EnumDef {
        name,
        doc: schema.text("description"),
        variants,
        open,
        feature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_phrases() {
        assert_eq!(
            capability_of(
                "Clients should only call this request if the corresponding capability `supportsX` is true."
            ),
            Some("supportsX".into())
        );
        assert_eq!(capability_of("no capability here"), None);
        assert_eq!(
            capability_of(
                "only call this request if the corresponding capability `filters` returns one or more filters."
            ),
            None
        );
        assert_eq!(
            capability_of(
                "This request should only be called if the corresponding client capability `supportsRunInTerminalRequest` is true."
            ),
            Some("supportsRunInTerminalRequest".into())
        );
    }
}
