//! The `JsonSchema` impls of dapkit-types (feature `schemars`) against the vendored DAP
//! schema, so that drift between the two fails here:
//!
//! - every definition of the schema (and of debugpy's extension, with the `debugpy`
//!   feature) has a type listed below, and the list names nothing else;
//! - for each, recursively through inline objects, arrays, maps and `oneOf`: the property
//!   names, the required sets (one deliberate exception: `ErrorResponse.body` is optional
//!   in ours), the values of `enum`/`_enum`, and the referenced definitions agree;
//! - recorded real traffic that the vendored schema accepts is accepted by our schema of
//!   the same message, and a message with a required member removed is rejected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_tests::{traffic, workspace_root};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Calls `$f::<Type>(&mut $state, "Name")` for every listed message and type.
macro_rules! each_type {
    ($f:ident, $state:ident) => {
        each_type!(@ $f, $state, messages: ErrorResponse CancelRequest CancelResponse InitializedEvent
            StoppedEvent ContinuedEvent ExitedEvent TerminatedEvent ThreadEvent OutputEvent
            BreakpointEvent ModuleEvent LoadedSourceEvent ProcessEvent CapabilitiesEvent
            ProgressStartEvent ProgressUpdateEvent ProgressEndEvent InvalidatedEvent MemoryEvent
            RunInTerminalRequest RunInTerminalResponse StartDebuggingRequest
            StartDebuggingResponse InitializeRequest InitializeResponse ConfigurationDoneRequest
            ConfigurationDoneResponse LaunchRequest LaunchResponse AttachRequest AttachResponse
            RestartRequest RestartResponse DisconnectRequest DisconnectResponse TerminateRequest
            TerminateResponse BreakpointLocationsRequest BreakpointLocationsResponse
            SetBreakpointsRequest SetBreakpointsResponse SetFunctionBreakpointsRequest
            SetFunctionBreakpointsResponse SetExceptionBreakpointsRequest
            SetExceptionBreakpointsResponse DataBreakpointInfoRequest DataBreakpointInfoResponse
            SetDataBreakpointsRequest SetDataBreakpointsResponse SetInstructionBreakpointsRequest
            SetInstructionBreakpointsResponse ContinueRequest ContinueResponse NextRequest
            NextResponse StepInRequest StepInResponse StepOutRequest StepOutResponse
            StepBackRequest StepBackResponse ReverseContinueRequest ReverseContinueResponse
            RestartFrameRequest RestartFrameResponse GotoRequest GotoResponse PauseRequest
            PauseResponse StackTraceRequest StackTraceResponse ScopesRequest ScopesResponse
            VariablesRequest VariablesResponse SetVariableRequest SetVariableResponse
            SourceRequest SourceResponse ThreadsRequest ThreadsResponse TerminateThreadsRequest
            TerminateThreadsResponse ModulesRequest ModulesResponse LoadedSourcesRequest
            LoadedSourcesResponse EvaluateRequest EvaluateResponse SetExpressionRequest
            SetExpressionResponse StepInTargetsRequest StepInTargetsResponse GotoTargetsRequest
            GotoTargetsResponse CompletionsRequest CompletionsResponse ExceptionInfoRequest
            ExceptionInfoResponse ReadMemoryRequest ReadMemoryResponse WriteMemoryRequest
            WriteMemoryResponse DisassembleRequest DisassembleResponse LocationsRequest
            LocationsResponse);
        each_type!(@ $f, $state, types: CancelArguments RunInTerminalRequestArguments
            StartDebuggingRequestArguments InitializeRequestArguments ConfigurationDoneArguments
            LaunchRequestArguments AttachRequestArguments RestartArguments DisconnectArguments
            TerminateArguments BreakpointLocationsArguments SetBreakpointsArguments
            SetFunctionBreakpointsArguments SetExceptionBreakpointsArguments
            DataBreakpointInfoArguments SetDataBreakpointsArguments
            SetInstructionBreakpointsArguments ContinueArguments NextArguments StepInArguments
            StepOutArguments StepBackArguments ReverseContinueArguments RestartFrameArguments
            GotoArguments PauseArguments StackTraceArguments ScopesArguments VariablesArguments
            SetVariableArguments SourceArguments TerminateThreadsArguments ModulesArguments
            LoadedSourcesArguments EvaluateArguments SetExpressionArguments
            StepInTargetsArguments GotoTargetsArguments CompletionsArguments
            ExceptionInfoArguments ReadMemoryArguments WriteMemoryArguments DisassembleArguments
            LocationsArguments Capabilities ExceptionBreakpointsFilter Message Module
            ColumnDescriptor Thread Source StackFrame Scope Variable VariablePresentationHint
            BreakpointLocation SourceBreakpoint FunctionBreakpoint DataBreakpointAccessType
            DataBreakpoint InstructionBreakpoint Breakpoint SteppingGranularity StepInTarget
            GotoTarget CompletionItem CompletionItemType ChecksumAlgorithm Checksum ValueFormat
            StackFrameFormat ExceptionFilterOptions ExceptionOptions ExceptionBreakMode
            ExceptionPathSegment ExceptionDetails DisassembledInstruction InvalidatedAreas
            BreakpointMode BreakpointModeApplicability);
        #[cfg(feature = "debugpy")]
        each_type!(@ $f, $state, messages: SetDebuggerPropertyRequest SetDebuggerPropertyResponse
            PydevdInputRequestedEvent SetPydevdSourceMapRequest SetPydevdSourceMapResponse
            PydevdSystemInfoRequest PydevdSystemInfoResponse PydevdAuthorizeRequest
            PydevdAuthorizeResponse);
        #[cfg(feature = "debugpy")]
        each_type!(@ $f, $state, types: SetDebuggerPropertyArguments SetPydevdSourceMapArguments
            PydevdSourceMap PydevdSystemInfoArguments PydevdPythonInfo
            PydevdPythonImplementationInfo PydevdPlatformInfo PydevdProcessInfo PydevdInfo
            PydevdAuthorizeArguments);
    };
    (@ $f:ident, $state:ident, $module:ident: $($name:ident)*) => {
        $( $f::<dapkit_types::$module::$name>(&mut $state, stringify!($name)); )*
    };
}

/// Schema definitions with no type of the same name: `ProtocolMessage` and the
/// `Request`/`Response`/`Event` bases are dispatch enums over the message structs.
const NOT_TYPED: [&str; 4] = ["ProtocolMessage", "Request", "Response", "Event"];

/// Differences between the schema and ours that are deliberate: `(definition path, property)`.
/// Real adapters send failed responses without a body, so `ErrorResponse` accepts them.
const REQUIRED_EXCEPTIONS: [(&str, &str); 1] = [("ErrorResponse", "body")];

/// Names the schemas list as required without declaring such a property (typos upstream:
/// debugpy sends `pydevdSourceMaps`; `command` belongs to the request, not its arguments).
/// Ours cannot type them and does not require them.
const UNDECLARED_REQUIRED: &[(&str, &str)] = if cfg!(feature = "debugpy") {
    &[
        ("SetPydevdSourceMapArguments", "pydevdSourceMap"),
        ("PydevdAuthorizeArguments", "command"),
    ]
} else {
    &[]
};

// ---------------------------------------------------------------------------------------
// Both sides
// ---------------------------------------------------------------------------------------

fn read_json(rel: &str) -> Value {
    let path = workspace_root().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The vendored definitions (base, then the extension with the `debugpy` feature).
fn vendored() -> Map<String, Value> {
    let mut files = vec!["schema/debugAdapterProtocol.json"];
    if cfg!(feature = "debugpy") {
        files.push("schema/extensions/debugpy/debugProtocolCustom.json");
    }
    let mut defs = Map::new();
    for rel in files {
        let doc = read_json(rel);
        let Some(d) = doc.get("definitions").and_then(Value::as_object) else {
            panic!("{rel}: no `definitions` object");
        };
        defs.extend(d.clone());
    }
    defs
}

/// Our schemas: the listed names, and every definition the generator collected (inline
/// types included), as draft-07 `definitions`.
struct Ours {
    listed: Vec<String>,
    defs: Map<String, Value>,
}

fn ours() -> Ours {
    fn add<T: schemars::JsonSchema>(
        state: &mut (schemars::SchemaGenerator, Vec<String>),
        name: &str,
    ) {
        assert_eq!(
            T::schema_name(),
            name,
            "schema_name() is the Rust type name"
        );
        let reference = state.0.subschema_for::<T>();
        assert_eq!(
            reference.get("$ref").and_then(Value::as_str),
            Some(format!("#/definitions/{name}").as_str()),
            "{name} is referenced by name, not inlined"
        );
        state.1.push(name.to_owned());
    }
    let mut state = (
        schemars::generate::SchemaSettings::draft07().into_generator(),
        Vec::new(),
    );
    each_type!(add, state);
    Ours {
        defs: state.0.take_definitions(true),
        listed: state.1,
    }
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

/// A vendored schema node with `allOf` merged (`$ref` parts resolved, later parts override).
fn flatten(node: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    assert!(depth < 16, "allOf chain too deep");
    let Some(parts) = node.get("allOf").and_then(Value::as_array) else {
        return node.clone();
    };
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for part in parts {
        let part = match ref_name(part) {
            Some(name) => flatten(&defs[name], defs, depth + 1),
            None => flatten(part, defs, depth + 1),
        };
        if let Some(p) = part.get("properties").and_then(Value::as_object) {
            properties.extend(p.clone());
        }
        for r in part
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !required.contains(r) {
                required.push(r.clone());
            }
        }
    }
    json!({ "type": "object", "properties": properties, "required": required })
}

fn ref_name(node: &Value) -> Option<&str> {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// Our node with references, single-part `allOf` (a `$ref` with a description) and
/// nullability unwrapped; `stop_at_ref` keeps a `$ref` node instead of following it.
fn resolve<'a>(mut node: &'a Value, defs: &'a Map<String, Value>, stop_at_ref: bool) -> &'a Value {
    for _ in 0..16 {
        if let Some(name) = ref_name(node) {
            if stop_at_ref {
                return node;
            }
            node = defs
                .get(name)
                .unwrap_or_else(|| panic!("dangling $ref {name}"));
        } else if let Some([only]) = node
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            node = only;
        } else if let Some(alts) = node.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = alts.iter().filter(|a| a["type"] != "null").collect();
            match non_null.as_slice() {
                [only] if alts.len() == 2 => node = only,
                _ => return node,
            }
        } else {
            return node;
        }
    }
    panic!("reference chain too long");
}

fn names(node: &Value, key: &str) -> BTreeSet<String> {
    match node.get(key) {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn strings(node: &Value, key: &str) -> Option<Vec<String>> {
    node.get(key).and_then(Value::as_array).map(|a| {
        a.iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    })
}

struct Compare<'a> {
    theirs: &'a Map<String, Value>,
    ours: &'a Map<String, Value>,
    problems: Vec<String>,
    /// `(path, property)` required by one side only.
    required_diffs: Vec<(String, String)>,
    /// `(path, name)` the schema requires without declaring the property.
    undeclared_required: Vec<(String, String)>,
    /// Object nodes compared, enum value lists compared.
    objects: usize,
    enums: usize,
}

impl Compare<'_> {
    fn node(&mut self, path: &str, theirs: &Value, ours: &Value) {
        // A named definition: ours must reference the definition of the same name; it is
        // compared on its own.
        if let Some(name) = ref_name(theirs) {
            let ours = resolve(ours, self.ours, true);
            if ref_name(ours) != Some(name) {
                self.problems
                    .push(format!("{path}: schema refers to `{name}`, ours is {ours}"));
            }
            return;
        }
        let theirs = flatten(theirs, self.theirs, 0);
        let ours = resolve(ours, self.ours, false);

        if let Some(t_props) = theirs.get("properties").and_then(Value::as_object) {
            self.objects += 1;
            let o_props = ours.get("properties").and_then(Value::as_object);
            let Some(o_props) = o_props else {
                self.problems
                    .push(format!("{path}: ours has no properties"));
                return;
            };
            let (t_names, o_names) = (names(&theirs, "properties"), names(ours, "properties"));
            if t_names != o_names {
                self.problems.push(format!(
                    "{path}: properties differ: only in schema {:?}, only in ours {:?}",
                    t_names.difference(&o_names).collect::<Vec<_>>(),
                    o_names.difference(&t_names).collect::<Vec<_>>()
                ));
            }
            let (t_req, o_req) = (names(&theirs, "required"), names(ours, "required"));
            for p in t_req.symmetric_difference(&o_req) {
                if t_names.contains(p) {
                    self.required_diffs.push((path.to_owned(), p.clone()));
                } else {
                    self.undeclared_required.push((path.to_owned(), p.clone()));
                }
            }
            for (k, t) in t_props {
                if let Some(o) = o_props.get(k) {
                    self.node(&format!("{path}.{k}"), t, o);
                }
            }
            return;
        }
        for key in ["enum", "_enum"] {
            if let Some(t_values) = strings(&theirs, key) {
                self.enums += 1;
                // Single-valued closed enums in types are plain strings in ours; message
                // constants are single-valued enums in both.
                let o_key = if key == "enum" { "enum" } else { "examples" };
                let o_values = strings(ours, o_key);
                let plain_string = key == "enum" && t_values.len() == 1 && o_values.is_none();
                if o_values.as_ref() != Some(&t_values) && !plain_string {
                    self.problems.push(format!(
                        "{path}: {key} {t_values:?} but ours has {o_key} {o_values:?}"
                    ));
                }
            }
        }
        if let Some(t_items) = theirs.get("items") {
            match ours.get("items") {
                Some(o_items) => self.node(&format!("{path}[]"), t_items, o_items),
                None => self.problems.push(format!("{path}: ours is not an array")),
            }
        }
        if let Some(t_ap @ Value::Object(_)) = theirs.get("additionalProperties") {
            match ours.get("additionalProperties") {
                Some(o_ap) => self.node(&format!("{path}{{}}"), t_ap, o_ap),
                None => self.problems.push(format!("{path}: ours is not a map")),
            }
        }
        if let Some(t_alts) = theirs.get("oneOf").and_then(Value::as_array) {
            match ours.get("anyOf").and_then(Value::as_array) {
                Some(o_alts) if o_alts.len() == t_alts.len() => {
                    for (i, (t, o)) in t_alts.iter().zip(o_alts).enumerate() {
                        self.node(&format!("{path}|{i}"), t, o);
                    }
                }
                other => self.problems.push(format!(
                    "{path}: oneOf of {} but ours is {other:?}",
                    t_alts.len()
                )),
            }
        }
    }
}

#[test]
fn the_list_covers_every_definition() {
    let theirs = vendored();
    let ours = ours();
    let listed: BTreeSet<&str> = ours.listed.iter().map(String::as_str).collect();
    assert_eq!(listed.len(), ours.listed.len(), "a type is listed twice");
    let expected: BTreeSet<&str> = theirs
        .keys()
        .map(String::as_str)
        .filter(|n| !NOT_TYPED.contains(n))
        .collect();
    assert_eq!(
        listed.difference(&expected).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "listed types the schema does not define"
    );
    assert_eq!(
        expected.difference(&listed).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "schema definitions without a listed type (add them to `each_type!`)"
    );
    for name in NOT_TYPED {
        assert!(theirs.contains_key(name), "schema lacks {name}");
    }
    // Every listed type ends up among the definitions, with inline types besides.
    for name in &ours.listed {
        assert!(ours.defs.contains_key(name), "{name} has no definition");
    }
    assert!(ours.defs.len() > ours.listed.len());
}

#[test]
fn schemas_match_the_vendored_definitions() {
    let theirs = vendored();
    let ours = ours();
    let mut cmp = Compare {
        theirs: &theirs,
        ours: &ours.defs,
        problems: Vec::new(),
        required_diffs: Vec::new(),
        undeclared_required: Vec::new(),
        objects: 0,
        enums: 0,
    };
    for name in &ours.listed {
        let reference = json!({ "$ref": format!("#/definitions/{name}") });
        cmp.node(name, &theirs[name.as_str()], &ours.defs[name.as_str()]);
        // The same through a reference resolves to the same definition.
        assert_eq!(
            resolve(&reference, &ours.defs, false),
            &ours.defs[name.as_str()]
        );
    }
    assert!(
        cmp.problems.is_empty(),
        "drift:\n{}",
        cmp.problems.join("\n")
    );
    let expected: Vec<(String, String)> = REQUIRED_EXCEPTIONS
        .iter()
        .map(|(p, k)| ((*p).to_owned(), (*k).to_owned()))
        .collect();
    assert_eq!(cmp.required_diffs, expected, "required sets differ");
    let undeclared: Vec<(String, String)> = UNDECLARED_REQUIRED
        .iter()
        .map(|(p, k)| ((*p).to_owned(), (*k).to_owned()))
        .collect();
    assert_eq!(
        cmp.undeclared_required, undeclared,
        "required without a property"
    );
    // The walk reached inline objects and enums, not just the top level.
    assert!(cmp.objects > ours.listed.len(), "{} objects", cmp.objects);
    assert!(cmp.enums > 100, "{} enums", cmp.enums);
}

#[test]
fn the_comparison_notices_drift() {
    // A schema with a property renamed, a requirement dropped and an enum value added.
    let mut theirs = vendored();
    let ours = ours();
    let source = theirs["Source"]["properties"].as_object_mut().unwrap();
    let path = source.remove("path").unwrap();
    source.insert("filePath".into(), path);
    theirs["Thread"]["required"] = json!(["id"]);
    theirs["SteppingGranularity"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("page"));
    let mut cmp = Compare {
        theirs: &theirs,
        ours: &ours.defs,
        problems: Vec::new(),
        required_diffs: Vec::new(),
        undeclared_required: Vec::new(),
        objects: 0,
        enums: 0,
    };
    for name in ["Source", "Thread", "SteppingGranularity"] {
        cmp.node(name, &theirs[name], &ours.defs[name]);
    }
    assert_eq!(cmp.problems.len(), 2, "{:?}", cmp.problems);
    assert!(cmp.problems[0].contains("filePath"), "{}", cmp.problems[0]);
    assert!(cmp.problems[1].contains("page"), "{}", cmp.problems[1]);
    assert_eq!(
        cmp.required_diffs,
        [("Thread".to_owned(), "name".to_owned())]
    );
}

#[test]
fn schemas_carry_descriptions_constants_and_open_enums() {
    let ours = ours();
    let d = &ours.defs;
    assert_eq!(
        d["InitializeRequest"]["properties"]["command"],
        json!({ "type": "string", "enum": ["initialize"] })
    );
    assert_eq!(
        d["ErrorResponse"]["properties"]["success"],
        json!({ "type": "boolean", "enum": [false] })
    );
    assert_eq!(
        d["StackTraceResponse"]["properties"]["success"],
        json!({ "type": "boolean", "enum": [true] })
    );
    let req: BTreeSet<String> = names(&d["StoppedEvent"], "required");
    assert_eq!(
        req,
        ["body", "event", "seq", "type"].map(String::from).into()
    );
    assert!(
        d["Source"]["description"]
            .as_str()
            .unwrap()
            .contains("source")
    );
    assert!(
        d["Source"].get("additionalProperties").is_none(),
        "undeclared properties allowed"
    );
    // A property's description sits beside its reference.
    let origin = &d["Source"]["properties"]["origin"];
    assert!(origin["description"].as_str().is_some(), "{origin}");
    // Closed enum: `enum`; open enum: any string, values as examples.
    assert_eq!(d["SteppingGranularity"]["type"], "string");
    assert_eq!(
        d["SteppingGranularity"]["enum"],
        json!(["statement", "line", "instruction"])
    );
    assert_eq!(
        d["ChecksumAlgorithm"]["enum"],
        json!(["MD5", "SHA1", "SHA256", "timestamp"])
    );
    let hint_kind = resolve(
        &d["VariablePresentationHint"]["properties"]["kind"],
        d,
        false,
    );
    assert_eq!(hint_kind["type"], "string");
    assert!(hint_kind.get("enum").is_none());
    assert!(
        strings(hint_kind, "examples")
            .unwrap()
            .contains(&"property".to_owned())
    );
}

// ---------------------------------------------------------------------------------------
// Real traffic
// ---------------------------------------------------------------------------------------

fn validator(
    defs: &Map<String, Value>,
    name: &str,
    draft: jsonschema::Draft,
) -> jsonschema::Validator {
    let mut root = json!({ "$ref": format!("#/definitions/{name}"), "definitions": defs });
    dapkit_tests::join_descriptions(&mut root);
    jsonschema::options()
        .with_draft(draft)
        .build(&root)
        .unwrap_or_else(|e| panic!("{name}: schema does not compile: {e}"))
}

/// Our message definitions by `(type, command or event, success)`.
fn message_index(defs: &Map<String, Value>) -> BTreeMap<(String, String, String), String> {
    let constant = |def: &Value, key: &str| match def["properties"][key]["enum"].as_array() {
        Some(values) if values.len() == 1 => match &values[0] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        _ => String::new(),
    };
    let mut index = BTreeMap::new();
    for (name, def) in defs {
        let kind = constant(def, "type");
        if kind.is_empty() {
            continue;
        }
        let key = (
            kind,
            constant(def, "command") + &constant(def, "event"),
            constant(def, "success"),
        );
        assert!(
            index.insert(key.clone(), name.clone()).is_none(),
            "{key:?} twice"
        );
    }
    index
}

#[test]
fn real_traffic_validates_against_our_schemas() {
    let theirs = vendored();
    let ours = ours();
    let index = message_index(&ours.defs);
    let mut cache: BTreeMap<String, (jsonschema::Validator, jsonschema::Validator)> =
        BTreeMap::new();
    let (mut checked, mut untyped, mut invalid_upstream) = (0, 0, 0);
    let mut checked_names = BTreeSet::new();
    for stream in traffic().unwrap() {
        for (i, body) in stream.bodies.iter().enumerate() {
            let at = format!("{}/{} #{i}", stream.session, stream.side);
            let msg: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{at}: {e}"));
            let kind = msg["type"].as_str().unwrap_or("").to_owned();
            let name = msg["command"]
                .as_str()
                .or(msg["event"].as_str())
                .unwrap_or("")
                .to_owned();
            let success = match kind.as_str() {
                "response" => msg["success"].to_string(),
                _ => String::new(),
            };
            let key = if success == "false" {
                ("response".to_owned(), String::new(), "false".to_owned())
            } else {
                (kind, name, success)
            };
            let Some(def) = index.get(&key) else {
                untyped += 1;
                continue;
            };
            let (upstream, ours_v) = cache.entry(def.clone()).or_insert_with(|| {
                (
                    validator(&theirs, def, jsonschema::Draft::Draft4),
                    validator(&ours.defs, def, jsonschema::Draft::Draft7),
                )
            });
            if !upstream.is_valid(&msg) {
                invalid_upstream += 1;
                continue;
            }
            let errors: Vec<String> = ours_v.iter_errors(&msg).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{at} ({def}) rejected by our schema: {errors:?}\n{msg}"
            );
            checked += 1;
            checked_names.insert(def.clone());

            // Without a required member, ours rejects it.
            let mut broken = msg.clone();
            broken.as_object_mut().unwrap().remove("seq");
            assert!(
                !ours_v.is_valid(&broken),
                "{at} ({def}): accepted without `seq`"
            );
        }
    }
    eprintln!(
        "validated {checked} messages of {} kinds; {untyped} untyped, {invalid_upstream} invalid against the vendored schema",
        checked_names.len()
    );
    assert!(checked >= 100, "only {checked} messages checked");
    assert!(
        checked_names.len() >= 20,
        "only {} kinds: {checked_names:?}",
        checked_names.len()
    );
}

#[test]
fn our_schemas_reject_what_the_types_reject() {
    let ours = ours();
    let stack = validator(&ours.defs, "StackTraceResponse", jsonschema::Draft::Draft7);
    let good = json!({
        "seq": 3, "type": "response", "request_seq": 2, "success": true, "command": "stackTrace",
        "body": { "stackFrames": [{ "id": 1, "name": "main", "line": 3, "column": 1 }] }
    });
    assert!(stack.is_valid(&good));
    let mut wrong_command = good.clone();
    wrong_command["command"] = json!("threads");
    assert!(!stack.is_valid(&wrong_command));
    let mut missing_line = good.clone();
    missing_line["body"]["stackFrames"][0]
        .as_object_mut()
        .unwrap()
        .remove("line");
    assert!(!stack.is_valid(&missing_line));
    let mut extra = good.clone();
    extra["body"]["vendorThing"] = json!(1);
    assert!(stack.is_valid(&extra), "undeclared properties are allowed");
    // A bodiless failed response is an `ErrorResponse` (the deliberate exception).
    let error = validator(&ours.defs, "ErrorResponse", jsonschema::Draft::Draft7);
    let failed = json!({ "seq": 4, "type": "response", "request_seq": 2, "success": false,
        "command": "evaluate", "message": "not available" });
    assert!(error.is_valid(&failed));
    assert!(!error.is_valid(&good));
}

/// `ProtocolMessage`, `Request`, `Response` and `Event` have schemas too: every recorded
/// message validates against `ProtocolMessage`'s, the dispatch enums list one form per typed
/// message (plus `Custom`, and `ErrorResponse` for responses), and objects that are no DAP
/// message at all are rejected.
#[test]
fn dispatch_schemas_accept_recorded_traffic() {
    use dapkit_types::{Event, ProtocolMessage, Request, Response};
    let mut generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut root = generator.root_schema_for::<ProtocolMessage>().to_value();
    dapkit_tests::join_descriptions(&mut root);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&root)
        .unwrap_or_else(|e| panic!("ProtocolMessage schema does not compile: {e}"));
    let mut checked = 0;
    for stream in traffic().unwrap() {
        for (i, body) in stream.bodies.iter().enumerate() {
            let msg: Value = serde_json::from_slice(body).unwrap();
            let errors: Vec<String> = validator.iter_errors(&msg).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{}/{} #{i}: {errors:?}",
                stream.session,
                stream.side
            );
            checked += 1;
        }
    }
    assert!(checked > 200);
    for bad in [
        json!({"seq": 1}),
        json!({"seq": 1, "type": "bogus"}),
        json!([1]),
    ] {
        assert!(!validator.is_valid(&bad), "accepted {bad}");
    }
    let defs = root["definitions"].as_object().expect("definitions");
    let forms = |name: &str| defs[name]["anyOf"].as_array().map_or(0, Vec::len);
    assert_eq!(forms("Request"), Request::KNOWN.len() + 1);
    assert_eq!(forms("Response"), Response::KNOWN.len() + 2);
    assert_eq!(forms("Event"), Event::KNOWN.len() + 1);
}
