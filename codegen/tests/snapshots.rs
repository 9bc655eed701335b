//! Snapshots of the generator's output: one small inline schema per schema construct, the
//! generated items for it reviewed and committed as insta snapshots; a one-line-per-item
//! summary of the model generated from the vendored schema; and the generator's errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use dapkit_codegen::generate::{Generated, Layout, SchemaText, generate, read_inputs};
use quote::ToTokens;

/// The five base definitions every schema needs, shaped as in the DAP schema, plus the
/// `Message` type that `ErrorResponse` refers to.
const BASE_DEFS: &str = r##"
    "ProtocolMessage": {
        "type": "object",
        "title": "Base Protocol",
        "description": "Base class of requests, responses, and events.",
        "properties": {
            "seq": { "type": "integer", "format": "int32", "minimum": 1, "description": "Sequence number of the message." },
            "type": { "type": "string", "description": "Message type.", "_enum": [ "request", "response", "event" ] }
        },
        "required": [ "seq", "type" ]
    },
    "Request": {
        "allOf": [ { "$ref": "#/definitions/ProtocolMessage" }, {
            "type": "object",
            "description": "A client or debug adapter initiated request.",
            "properties": {
                "type": { "type": "string", "enum": [ "request" ] },
                "command": { "type": "string", "description": "The command to execute." },
                "arguments": { "type": [ "array", "boolean", "integer", "null", "number", "object", "string" ], "description": "Object containing arguments for the command." }
            },
            "required": [ "type", "command" ]
        }]
    },
    "Event": {
        "allOf": [ { "$ref": "#/definitions/ProtocolMessage" }, {
            "type": "object",
            "description": "A debug adapter initiated event.",
            "properties": {
                "type": { "type": "string", "enum": [ "event" ] },
                "event": { "type": "string", "description": "Type of event." },
                "body": { "type": [ "array", "boolean", "integer", "null", "number", "object", "string" ], "description": "Event-specific information." }
            },
            "required": [ "type", "event" ]
        }]
    },
    "Response": {
        "allOf": [ { "$ref": "#/definitions/ProtocolMessage" }, {
            "type": "object",
            "description": "Response for a request.",
            "properties": {
                "type": { "type": "string", "enum": [ "response" ] },
                "request_seq": { "type": "integer", "format": "int32", "minimum": 1, "description": "Sequence number of the corresponding request." },
                "success": { "type": "boolean", "description": "Outcome of the request." },
                "command": { "type": "string", "description": "The command requested." },
                "message": {
                    "type": "string",
                    "description": "Contains the raw error in short form if `success` is false.",
                    "_enum": [ "cancelled", "notStopped" ],
                    "enumDescriptions": [ "the request was cancelled.", "the request may be retried once the adapter is in a 'stopped' state." ]
                },
                "body": { "type": [ "array", "boolean", "integer", "null", "number", "object", "string" ], "description": "Contains request result if success is true and error details if success is false." }
            },
            "required": [ "type", "request_seq", "success", "command" ]
        }]
    },
    "ErrorResponse": {
        "allOf": [ { "$ref": "#/definitions/Response" }, {
            "type": "object",
            "description": "On error (whenever `success` is false), the body can provide more details.",
            "properties": {
                "body": {
                    "type": "object",
                    "properties": {
                        "error": { "$ref": "#/definitions/Message", "description": "A structured error message." }
                    }
                }
            },
            "required": [ "body" ]
        }]
    },
    "Message": {
        "type": "object",
        "description": "A structured message object. Used to return errors from requests.",
        "properties": {
            "id": { "type": "integer", "format": "int32", "description": "Unique identifier for the message." },
            "format": { "type": "string", "description": "A format string for the message." }
        },
        "required": [ "id", "format" ]
    }
"##;

/// A base schema: the base definitions followed by `defs` (comma-separated JSON members).
fn base_schema(defs: &str) -> String {
    let sep = if defs.trim().is_empty() { "" } else { "," };
    format!(
        r##"{{
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Debug Adapter Protocol",
    "type": "object",
    "definitions": {{ {BASE_DEFS}{sep}{defs} }}
}}"##
    )
}

fn base(defs: &str) -> SchemaText {
    SchemaText {
        path: "schema/test.json".into(),
        text: base_schema(defs),
        feature: None,
    }
}

fn gen_from(schemas: &[SchemaText]) -> Generated {
    match generate(schemas, "9.99") {
        Ok(g) => {
            assert_generated_header(&g.types, "types.rs");
            assert_generated_header(&g.messages, "messages.rs");
            g
        }
        Err(e) => panic!("generation failed: {e}"),
    }
}

fn gen_defs(defs: &str) -> Generated {
    gen_from(&[base(defs)])
}

fn gen_err(schemas: &[SchemaText]) -> String {
    match generate(schemas, "9.99") {
        Ok(_) => panic!("generation succeeded on a schema it should reject"),
        Err(e) => e.to_string(),
    }
}

fn assert_generated_header(text: &str, what: &str) {
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("@generated"),
        "{what}: first line lacks `@generated`: {first:?}"
    );
}

/// The name an impl block is for (`impl X`, `impl Trait for X`).
fn impl_target(i: &syn::ItemImpl) -> Option<String> {
    match &*i.self_ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The items named `names` (structs, enums, constants) and every impl block and glue macro
/// for them,
/// pretty-printed in the order they appear in `source`.
fn extract(source: &str, names: &[&str]) -> String {
    let file: syn::File = syn::parse_file(source).expect("generated code parses");
    let mut found: Vec<String> = Vec::new();
    let mut items = Vec::new();
    for item in file.items {
        let name = match &item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            syn::Item::Const(c) => Some(c.ident.to_string()),
            syn::Item::Impl(i) => impl_target(i),
            // The glue macros (`impl_object!`, `impl_json_schema!`) name their type first.
            syn::Item::Macro(m) => m
                .mac
                .tokens
                .clone()
                .into_iter()
                .next()
                .and_then(|t| match t {
                    proc_macro2::TokenTree::Ident(i) => Some(i.to_string()),
                    _ => None,
                }),
            _ => None,
        };
        let Some(name) = name else { continue };
        if names.contains(&name.as_str()) {
            if !matches!(item, syn::Item::Impl(_) | syn::Item::Macro(_)) {
                found.push(name);
            }
            items.push(item);
        }
    }
    for n in names {
        assert!(
            found.iter().any(|f| f == n),
            "no item `{n}` in the generated code; it has: {:?}",
            item_names(source)
        );
    }
    prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: Vec::new(),
        items,
    })
}

fn item_names(source: &str) -> Vec<String> {
    let Ok(file) = syn::parse_file(source) else {
        return Vec::new();
    };
    file.items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Types

#[test]
fn all_of_inheritance_with_override() {
    let g = gen_defs(
        r##"
        "ValueFormat": {
            "type": "object",
            "description": "Provides formatting information for a value.",
            "properties": {
                "hex": { "type": "boolean", "description": "Display the value in hex." },
                "width": { "type": "integer", "description": "Width of the value." }
            }
        },
        "StackFrameFormat": {
            "allOf": [ { "$ref": "#/definitions/ValueFormat" }, {
                "type": "object",
                "description": "Provides formatting information for a stack frame.",
                "properties": {
                    "parameters": { "type": "boolean", "description": "Displays parameters for the stack frame." },
                    "width": { "type": "string", "description": "Width as a CSS length (overrides the base)." }
                },
                "required": [ "width" ]
            }]
        }
        "##,
    );
    let out = extract(&g.types, &["ValueFormat", "StackFrameFormat"]);
    // The override keeps the base's position, takes the later part's type and requiredness.
    assert!(out.contains("pub width: Option<i64>,"), "{out}");
    assert!(out.contains("pub width: String,"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn open_object_without_properties() {
    let g = gen_defs(
        r##"
        "LaunchRequestArguments": {
            "type": "object",
            "description": "Arguments for `launch` request. Additional attributes are implementation specific."
        }
        "##,
    );
    let out = extract(&g.types, &["LaunchRequestArguments"]);
    assert!(out.contains("pub extra: serde_json::Map<String, serde_json::Value>"));
    insta::assert_snapshot!(out);
}

#[test]
fn open_enum_with_descriptions() {
    let g = gen_defs(
        r##"
        "CompletionItemType": {
            "type": "string",
            "description": "Some predefined types for the CompletionItem.",
            "_enum": [ "method", "function", "class" ],
            "enumDescriptions": [ "A method.", "A function.", "A class, with `backticks`." ]
        }
        "##,
    );
    let out = extract(&g.types, &["CompletionItemType"]);
    assert!(out.contains("pub const CLOSED: bool = false;"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn closed_enum_with_spaces() {
    let g = gen_defs(
        r##"
        "BreakpointKind": {
            "type": "string",
            "description": "The kind of a breakpoint.",
            "enum": [ "function breakpoint", "data breakpoint", "source" ]
        }
        "##,
    );
    let out = extract(&g.types, &["BreakpointKind"]);
    assert!(out.contains("FunctionBreakpoint,"), "{out}");
    assert!(out.contains("\"function breakpoint\" => BreakpointKind::FunctionBreakpoint"));
    assert!(out.contains("pub const CLOSED: bool = true;"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn inline_enum_property() {
    // An `_enum` on a property becomes a named enum `<Owner><Property>`.
    let g = gen_defs(
        r##"
        "Source": {
            "type": "object",
            "description": "A source.",
            "properties": {
                "presentationHint": {
                    "type": "string",
                    "description": "A hint for how to present the source in the UI.",
                    "enum": [ "normal", "emphasize", "deemphasize" ]
                }
            }
        }
        "##,
    );
    let out = extract(&g.types, &["Source", "SourcePresentationHint"]);
    assert!(out.contains("pub presentation_hint: Option<SourcePresentationHint>,"));
    insta::assert_snapshot!(out);
}

#[test]
fn nullable_string_required_and_in_map() {
    let g = gen_defs(
        r##"
        "DataInfo": {
            "type": "object",
            "description": "Data breakpoint info.",
            "properties": {
                "dataId": { "type": [ "string", "null" ], "description": "An identifier for the data, or null if no data breakpoint is available." },
                "hint": { "type": [ "string", "null" ], "description": "An optional nullable hint." },
                "env": {
                    "type": "object",
                    "description": "Environment key-value pairs that are added to or removed from the default environment.",
                    "additionalProperties": {
                        "type": [ "string", "null" ],
                        "description": "A string is a proper value for an environment variable. The value `null` removes the variable from the environment."
                    }
                }
            },
            "required": [ "dataId" ]
        }
        "##,
    );
    let out = extract(&g.types, &["DataInfo"]);
    assert!(out.contains("pub data_id: Option<String>,"), "{out}");
    assert!(out.contains("pub hint: Option<Option<String>>,"), "{out}");
    assert!(
        out.contains("pub env: Option<std::collections::BTreeMap<String, Option<String>>>,"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn integer_or_string_union() {
    let g = gen_defs(
        r##"
        "Module": {
            "type": "object",
            "description": "A Module object represents a row in the modules view.",
            "properties": {
                "id": { "type": [ "integer", "string" ], "description": "Unique identifier for the module." },
                "name": { "type": "string", "description": "A name of the module." }
            },
            "required": [ "id", "name" ]
        }
        "##,
    );
    let out = extract(&g.types, &["Module", "ModuleId"]);
    assert!(out.contains("Integer(i64),"), "{out}");
    assert!(out.contains("String(String),"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn one_of_object_refs() {
    let g = gen_defs(
        r##"
        "LaunchRequestArguments": {
            "type": "object",
            "description": "Arguments for `launch` request.",
            "properties": { "noDebug": { "type": "boolean", "description": "If true, launch without debugging." } }
        },
        "AttachRequestArguments": {
            "type": "object",
            "description": "Arguments for `attach` request."
        },
        "RestartArguments": {
            "type": "object",
            "description": "Arguments for `restart` request.",
            "properties": {
                "arguments": {
                    "oneOf": [ { "$ref": "#/definitions/LaunchRequestArguments" }, { "$ref": "#/definitions/AttachRequestArguments" } ],
                    "description": "The latest version of the `launch` or `attach` configuration."
                }
            }
        }
        "##,
    );
    let out = extract(&g.types, &["RestartArguments", "RestartArgumentsArguments"]);
    assert!(out.contains("Launch(LaunchRequestArguments),"), "{out}");
    assert!(out.contains("Attach(AttachRequestArguments),"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn integer_formats_and_number() {
    let g = gen_defs(
        r##"
        "Numbers": {
            "type": "object",
            "description": "Every numeric shape.",
            "properties": {
                "a32": { "type": "integer", "format": "int32", "minimum": -5, "maximum": 5, "description": "int32 with bounds." },
                "u32": { "type": "integer", "format": "uint32", "minimum": 0, "maximum": 4294967295, "description": "uint32." },
                "a64": { "type": "integer", "format": "int64", "description": "int64." },
                "u64": { "type": "integer", "format": "uint64", "minimum": 0, "description": "uint64." },
                "plain": { "type": "integer", "description": "No format." },
                "ratio": { "type": "number", "description": "A number." },
                "optRatio": { "type": "number", "description": "An optional number." }
            },
            "required": [ "a32", "u32", "a64", "u64", "plain", "ratio" ]
        }
        "##,
    );
    let out = extract(&g.types, &["Numbers"]);
    for line in [
        "pub a32: i32,",
        "pub u32: u32,",
        "pub a64: i64,",
        "pub u64: u64,",
        "pub plain: i64,",
        "pub ratio: f64,",
        "pub opt_ratio: Option<f64>,",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    insta::assert_snapshot!(out);
}

#[test]
fn awkward_property_names() {
    let g = gen_defs(
        r##"
        "Awkward": {
            "type": "object",
            "description": "Property names that are not Rust identifiers as they stand.",
            "properties": {
                "__restart": { "type": [ "array", "boolean", "integer", "null", "number", "object", "string" ], "description": "Arbitrary data from the previous, restarted session." },
                "type": { "type": "string", "description": "The type." },
                "request_seq": { "type": "integer", "format": "int32", "description": "Already snake case." },
                "description": { "type": "string", "description": "A description." },
                "format": { "type": "string", "description": "A format." },
                "default": { "type": "boolean", "description": "A default." }
            },
            "required": [ "type" ]
        }
        "##,
    );
    let out = extract(&g.types, &["Awkward"]);
    for line in [
        "pub restart: Option<serde_json::Value>,",
        "pub type_: String,",
        "pub request_seq: Option<i32>,",
        "pub description: Option<String>,",
        "pub format: Option<String>,",
        "pub default: Option<bool>,",
        "\"__restart\" =>",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_descriptions() {
    let g = gen_defs(
        r##"
        "Markdown": {
            "type": "object",
            "description": "See [brackets] and <angle> and https://example.org/spec.\nIt is used in two situations:\n- first item\n- second item\ncontinued lazily with `a[0] <b>` in backticks.\n\nA new paragraph with \\ and *stars* and snake_case.",
            "properties": {
                "url": { "type": "string", "description": "A url such as https://example.org/x (in parentheses)." }
            }
        }
        "##,
    );
    let out = extract(&g.types, &["Markdown"]);
    assert!(out.contains(r"\[brackets\]"), "{out}");
    assert!(out.contains(r"\<angle\>"), "{out}");
    assert!(out.contains("<https://example.org/spec>."), "{out}");
    assert!(
        out.contains("///   continued lazily with `a[0] <b>`"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

// ---------------------------------------------------------------------------------------
// Messages

const FOO_BAR: &str = r##"
    "FooRequest": {
        "allOf": [ { "$ref": "#/definitions/Request" }, {
            "type": "object",
            "description": "The request does foo.",
            "properties": {
                "command": { "type": "string", "enum": [ "foo" ] },
                "arguments": { "$ref": "#/definitions/FooArguments" }
            },
            "required": [ "command", "arguments" ]
        }]
    },
    "FooArguments": {
        "type": "object",
        "description": "Arguments for `foo` request.",
        "properties": {
            "threadId": { "type": "integer", "description": "The thread." }
        },
        "required": [ "threadId" ]
    },
    "FooResponse": {
        "allOf": [ { "$ref": "#/definitions/Response" }, {
            "type": "object",
            "description": "Response to `foo` request.",
            "properties": {
                "body": {
                    "type": "object",
                    "properties": {
                        "value": { "type": "string", "description": "The result." },
                        "count": { "type": "integer", "description": "How many." }
                    },
                    "required": [ "value" ]
                }
            },
            "required": [ "body" ]
        }]
    },
    "BarRequest": {
        "allOf": [ { "$ref": "#/definitions/Request" }, {
            "type": "object",
            "description": "The request does bar.",
            "properties": {
                "command": { "type": "string", "enum": [ "bar" ] },
                "arguments": { "$ref": "#/definitions/BarArguments" }
            },
            "required": [ "command" ]
        }]
    },
    "BarArguments": {
        "type": "object",
        "description": "Arguments for `bar` request.",
        "properties": {
            "force": { "type": "boolean", "description": "Whether to force." }
        }
    },
    "BarResponse": {
        "allOf": [ { "$ref": "#/definitions/Response" }, {
            "type": "object",
            "description": "Response to `bar` request. This is just an acknowledgement, so no body field is required."
        }]
    }
"##;

#[test]
fn request_with_required_arguments() {
    let g = gen_defs(FOO_BAR);
    let out = extract(&g.messages, &["FooRequest", "FooResponse"]);
    assert!(out.contains("pub arguments: FooArguments,"), "{out}");
    assert!(out.contains("pub body: FooResponseBody,"), "{out}");
    assert!(out.contains("type Response = FooResponse;"), "{out}");
    insta::assert_snapshot!(out);
    let body = extract(&g.types, &["FooResponseBody"]);
    assert!(body.contains("pub value: String,"), "{body}");
    assert!(body.contains("pub count: Option<i64>,"), "{body}");
    insta::assert_snapshot!("request_with_required_arguments_body", body);
}

#[test]
fn request_with_optional_arguments() {
    let g = gen_defs(FOO_BAR);
    let out = extract(&g.messages, &["BarRequest"]);
    assert!(
        out.contains("pub arguments: Option<BarArguments>,"),
        "{out}"
    );
    assert!(
        out.contains("type Arguments = Option<BarArguments>;"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn bodiless_response() {
    // The response inherits `Response.body`, typed any JSON and optional.
    let g = gen_defs(FOO_BAR);
    let out = extract(&g.messages, &["BarResponse"]);
    assert!(
        out.contains("pub body: Option<serde_json::Value>,"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn request_without_arguments_property() {
    let g = gen_defs(
        r##"
        "ThreadsRequest": {
            "allOf": [ { "$ref": "#/definitions/Request" }, {
                "type": "object",
                "description": "The request retrieves a list of all threads.",
                "properties": { "command": { "type": "string", "enum": [ "threads" ] } },
                "required": [ "command" ]
            }]
        },
        "ThreadsResponse": {
            "allOf": [ { "$ref": "#/definitions/Response" }, {
                "type": "object",
                "description": "Response to `threads` request.",
                "properties": {
                    "body": {
                        "type": "object",
                        "properties": { "threads": { "type": "array", "items": { "type": "string" }, "description": "All threads." } },
                        "required": [ "threads" ]
                    }
                },
                "required": [ "body" ]
            }]
        }
        "##,
    );
    let out = extract(&g.messages, &["ThreadsRequest"]);
    // `arguments` is inherited from `Request`: any JSON, optional.
    assert!(
        out.contains("pub arguments: Option<serde_json::Value>,"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn event_with_inline_body() {
    let g = gen_defs(
        r##"
        "StoppedEvent": {
            "allOf": [ { "$ref": "#/definitions/Event" }, {
                "type": "object",
                "description": "The event indicates that the execution of the debuggee has stopped.",
                "properties": {
                    "event": { "type": "string", "enum": [ "stopped" ] },
                    "body": {
                        "type": "object",
                        "properties": {
                            "reason": {
                                "type": "string",
                                "description": "The reason for the event.",
                                "_enum": [ "step", "breakpoint" ]
                            },
                            "threadId": { "type": "integer", "description": "The thread which was stopped." },
                            "allThreadsStopped": { "type": "boolean", "description": "If true, all threads stopped." }
                        },
                        "required": [ "reason" ]
                    }
                },
                "required": [ "event", "body" ]
            }]
        }
        "##,
    );
    let out = extract(&g.messages, &["StoppedEvent"]);
    assert!(out.contains("pub body: StoppedEventBody,"), "{out}");
    assert!(
        out.contains("const EVENT: &'static str = \"stopped\";"),
        "{out}"
    );
    insta::assert_snapshot!(out);
    let body = extract(&g.types, &["StoppedEventBody", "StoppedEventBodyReason"]);
    assert!(
        body.contains("pub reason: StoppedEventBodyReason,"),
        "{body}"
    );
    insta::assert_snapshot!("event_with_inline_body_types", body);
}

#[test]
fn reverse_and_capability_gated_requests() {
    // Titles sit on the `allOf` part, as in the DAP schema; a titled part starts a section
    // that lasts until the next title.
    let g = gen_defs(
        r##"
        "RunInTerminalRequest": {
            "allOf": [ { "$ref": "#/definitions/Request" }, {
                "type": "object",
                "title": "Reverse Requests",
                "description": "This request is sent from the debug adapter to the client to run a command in a terminal.\nThis request should only be called if the corresponding client capability `supportsRunInTerminalRequest` is true.",
                "properties": { "command": { "type": "string", "enum": [ "runInTerminal" ] } },
                "required": [ "command" ]
            }]
        },
        "RunInTerminalResponse": {
            "allOf": [ { "$ref": "#/definitions/Response" }, { "type": "object", "description": "Response to `runInTerminal` request." } ]
        },
        "StartDebuggingRequest": {
            "allOf": [ { "$ref": "#/definitions/Request" }, {
                "type": "object",
                "description": "This request is sent from the debug adapter to the client to start a new debug session.",
                "properties": { "command": { "type": "string", "enum": [ "startDebugging" ] } },
                "required": [ "command" ]
            }]
        },
        "StartDebuggingResponse": {
            "allOf": [ { "$ref": "#/definitions/Response" }, { "type": "object", "description": "Response to `startDebugging` request." } ]
        },
        "FooRequest": {
            "allOf": [ { "$ref": "#/definitions/Request" }, {
                "type": "object",
                "title": "Requests",
                "description": "The request does foo.\nClients should only call this request if the corresponding capability `supportsFoo` is true.",
                "properties": { "command": { "type": "string", "enum": [ "foo" ] } },
                "required": [ "command" ]
            }]
        },
        "FooResponse": {
            "allOf": [ { "$ref": "#/definitions/Response" }, { "type": "object", "description": "Response to `foo` request." } ]
        }
        "##,
    );
    let traits = extract(
        &g.messages,
        &[
            "RunInTerminalRequest",
            "StartDebuggingRequest",
            "FooRequest",
        ],
    );
    let traits: String = traits
        .split("impl ")
        .filter(|part| part.starts_with("crate::traits::Request for"))
        .map(|part| format!("impl {part}"))
        .collect();
    assert!(
        traits.contains("const CAPABILITY: Option<&'static str> = Some(\"supportsFoo\");"),
        "{traits}"
    );
    let direction = |request: &str| {
        let start = traits
            .find(&format!("for {request} {{"))
            .unwrap_or_else(|| panic!("no trait impl for {request}"));
        let rest = &traits[start..];
        let line = rest
            .lines()
            .find(|l| l.contains("const DIRECTION"))
            .unwrap_or_default();
        line.rsplit("::")
            .next()
            .unwrap_or_default()
            .trim_end_matches(';')
            .to_owned()
    };
    // The section titled "Reverse Requests" holds requests the adapter sends to the client,
    // up to the next titled section.
    assert_eq!(direction("RunInTerminalRequest"), "ToClient", "{traits}");
    assert_eq!(direction("StartDebuggingRequest"), "ToClient", "{traits}");
    assert_eq!(direction("FooRequest"), "ToAdapter", "{traits}");
    insta::assert_snapshot!(traits);
    let dispatch = extract(&g.messages, &["Request"]);
    insta::assert_snapshot!("reverse_and_capability_gated_requests_dispatch", dispatch);
}

#[test]
fn extension_schema_gated_by_feature() {
    let ext = SchemaText {
        path: "schema/extensions/ext/custom.json".into(),
        text: r##"{
            "$schema": "http://json-schema.org/draft-04/schema#",
            "title": "Custom Debug Adapter Protocol",
            "type": "object",
            "definitions": {
                "SetThingRequest": {
                    "allOf": [ { "$ref": "#/definitions/Request" }, {
                        "type": "object",
                        "description": [
                            "Sets the thing.",
                            "- first line of a list",
                            "- second line"
                        ],
                        "properties": {
                            "command": { "type": "string", "enum": [ "setThing" ] },
                            "arguments": { "$ref": "#/definitions/SetThingArguments" }
                        },
                        "required": [ "command", "arguments" ]
                    }]
                },
                "SetThingArguments": {
                    "type": "object",
                    "description": "Arguments for 'setThing' request.",
                    "properties": {
                        "message": { "$ref": "#/definitions/Message", "description": "A message from the base schema." },
                        "names": { "type": [ "array" ], "description": "Names, item type not given." }
                    },
                    "required": [ "message" ]
                },
                "SetThingResponse": {
                    "allOf": [ { "$ref": "#/definitions/Response" }, { "type": "object", "description": "Response to 'setThing' request." } ]
                }
            }
        }"##
        .into(),
        feature: Some("ext".into()),
    };
    let g = gen_from(&[base(""), ext]);
    assert!(
        g.types.contains("//   schema/extensions/ext/custom.json"),
        "the header names every input"
    );
    let types = extract(&g.types, &["SetThingArguments"]);
    assert!(types.contains("#[cfg(feature = \"ext\")]"), "{types}");
    assert!(types.contains("pub message: Message,"), "{types}");
    assert!(
        types.contains("pub names: Option<Vec<serde_json::Value>>,"),
        "{types}"
    );
    insta::assert_snapshot!("extension_schema_gated_by_feature_types", types);
    let messages = extract(&g.messages, &["SetThingRequest", "SetThingResponse"]);
    assert!(messages.contains("/// Sets the thing.\n/// - first line of a list\n"));
    insta::assert_snapshot!("extension_schema_gated_by_feature_messages", messages);
    let dispatch = extract(&g.messages, &["Request"]);
    assert!(
        dispatch.contains("#[cfg(feature = \"ext\")]\n    SetThing(SetThingRequest),"),
        "{dispatch}"
    );
    insta::assert_snapshot!("extension_schema_gated_by_feature_dispatch", dispatch);
}

#[test]
fn minimal_schema_whole_output() {
    // Only the base definitions: the fixed part of `messages.rs` (error response, dispatch
    // enums with no typed variants) and `types.rs` (the `Message` type).
    let g = gen_defs("");
    assert!(
        g.messages
            .contains("pub const DAP_VERSION: &str = \"9.99\";")
    );
    insta::assert_snapshot!("minimal_schema_types", g.types);
    insta::assert_snapshot!("minimal_schema_messages", g.messages);
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn error_unknown_ref() {
    let err = gen_err(&[base(
        r##""Thing": { "type": "object", "properties": { "x": { "$ref": "#/definitions/Nowhere" } } }"##,
    )]);
    assert!(err.contains("Nowhere"), "{err}");
    assert!(err.contains("unknown reference"), "{err}");
}

#[test]
fn error_object_with_more_than_64_members() {
    // Decoders and encoders keep one bit per declared member in a `u64`.
    let props = |n: usize| {
        (0..n)
            .map(|i| format!(r#""p{i}": {{ "type": "string" }}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let err = gen_err(&[base(&format!(
        r#""Wide": {{ "type": "object", "properties": {{ {} }} }}"#,
        props(65)
    ))]);
    assert!(err.contains("`Wide` declares 65 members"), "{err}");
    assert!(err.contains("at most 64"), "{err}");
    let ok = gen_defs(&format!(
        r#""Wide": {{ "type": "object", "properties": {{ {} }} }}"#,
        props(64)
    ));
    assert!(
        ok.types.contains("pub p63: Option<String>"),
        "64 members are accepted"
    );
}

#[test]
fn error_unknown_ref_in_all_of() {
    let err = gen_err(&[base(
        r##""Thing": { "allOf": [ { "$ref": "#/definitions/Nowhere" }, { "type": "object" } ] }"##,
    )]);
    assert!(err.contains("`Nowhere`"), "{err}");
}

#[test]
fn error_request_without_response() {
    let err = gen_err(&[base(
        r##""LonelyRequest": {
            "allOf": [ { "$ref": "#/definitions/Request" }, {
                "type": "object",
                "properties": { "command": { "type": "string", "enum": [ "lonely" ] } },
                "required": [ "command" ]
            }]
        }"##,
    )]);
    assert!(err.contains("LonelyRequest"), "{err}");
    assert!(err.contains("no response"), "{err}");
}

#[test]
fn error_response_without_request() {
    let err = gen_err(&[base(
        r##""OrphanResponse": { "allOf": [ { "$ref": "#/definitions/Response" }, { "type": "object" } ] }"##,
    )]);
    assert!(err.contains("OrphanResponse"), "{err}");
}

#[test]
fn error_extension_redefines_base_definition() {
    let ext = SchemaText {
        path: "schema/extensions/ext/custom.json".into(),
        text: r##"{ "definitions": { "Message": { "type": "object" } } }"##.into(),
        feature: Some("ext".into()),
    };
    let err = gen_err(&[base(""), ext]);
    assert!(err.contains("`Message`"), "{err}");
    assert!(err.contains("defined twice"), "{err}");
}

#[test]
fn error_non_json_input() {
    let bad = SchemaText {
        path: "schema/broken.json".into(),
        text: "{ \"definitions\": { ".into(),
        feature: None,
    };
    let err = gen_err(&[bad]);
    assert!(
        err.starts_with("schema/broken.json: not valid JSON"),
        "{err}"
    );
}

#[test]
fn error_missing_base_definition() {
    let text = r#"{ "definitions": { "Thing": { "type": "object" } } }"#;
    let err = gen_err(&[SchemaText {
        path: "schema/test.json".into(),
        text: text.into(),
        feature: None,
    }]);
    assert!(err.contains("ProtocolMessage"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Summary of the model generated from the vendored schema

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A type or expression as compact text: `Option<Vec<String>>`.
fn compact(tokens: &impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    for c in text.chars() {
        if c == '"' {
            in_str = !in_str;
        }
        if c == ' ' && !in_str {
            // Keep a space only after a comma.
            if out.ends_with(',') {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn feature_of(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .map(|a| format!("[{}] ", compact(&a.meta)))
        .collect()
}

/// One line per generated item: structs with their fields, enums with their variants,
/// `Request` trait impls with their constants and associated types.
fn summary(source: &str) -> String {
    let file = syn::parse_file(source).expect("generated code parses");
    let mut lines = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Struct(s) => {
                let mut fields: Vec<String> = Vec::new();
                for f in &s.fields {
                    let name = f
                        .ident
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    fields.push(format!("{name}: {}", compact(&f.ty)));
                }
                assert_eq!(
                    fields.last().map(String::as_str),
                    Some("extra: serde_json::Map<String, serde_json::Value>"),
                    "struct {} does not end with `extra`",
                    s.ident
                );
                fields.pop();
                lines.push(format!(
                    "{}struct {}: {}",
                    feature_of(&s.attrs),
                    s.ident,
                    fields.join(", ")
                ));
            }
            syn::Item::Enum(e) => {
                let variants: Vec<String> = e
                    .variants
                    .iter()
                    .map(|v| {
                        let attrs = feature_of(&v.attrs);
                        match &v.fields {
                            syn::Fields::Unit => format!("{attrs}{}", v.ident),
                            fields => format!("{attrs}{}{}", v.ident, compact(fields)),
                        }
                    })
                    .collect();
                lines.push(format!(
                    "{}enum {}: {}",
                    feature_of(&e.attrs),
                    e.ident,
                    variants.join(", ")
                ));
            }
            syn::Item::Impl(i) => {
                let Some((_, trait_path, _)) = &i.trait_ else {
                    continue;
                };
                let trait_name = compact(trait_path);
                if !trait_name.starts_with("crate::traits::") {
                    continue;
                }
                let mut members = Vec::new();
                for member in &i.items {
                    match member {
                        syn::ImplItem::Const(c) => {
                            members.push(format!("{} = {}", c.ident, compact(&c.expr)))
                        }
                        syn::ImplItem::Type(t) => {
                            members.push(format!("{} = {}", t.ident, compact(&t.ty)))
                        }
                        _ => {}
                    }
                }
                lines.push(format!(
                    "{}impl {} for {}: {}",
                    feature_of(&i.attrs),
                    trait_name.trim_start_matches("crate::traits::"),
                    compact(&i.self_ty),
                    members.join(", ").replace("crate::traits::Direction::", "")
                ));
            }
            _ => {}
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn vendored_schema_summary() {
    let (schemas, version) =
        read_inputs(&Layout::workspace(workspace_root())).expect("workspace schema inputs");
    let g = gen_from(&schemas);
    let _ = version;
    let types = summary(&g.types);
    let messages = summary(&g.messages);
    for needle in [
        "struct Capabilities: ",
        "enum ModuleId: Integer(i64), String(String)",
        "struct InitializeRequest: seq: i32, arguments: InitializeRequestArguments",
    ] {
        assert!(
            types.contains(needle) || messages.contains(needle),
            "summary lacks `{needle}`"
        );
    }
    insta::assert_snapshot!("vendored_schema_summary_types", types);
    insta::assert_snapshot!("vendored_schema_summary_messages", messages);
}
