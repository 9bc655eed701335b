//! Recognizing a DAP JSON schema: valid UTF-8 JSON, a draft-04 `$schema`, and the base
//! message definitions every DAP schema has.

use serde_json::Value;

use super::VendorError;

/// Definitions that every DAP schema contains.
const BASE_DEFINITIONS: [&str; 4] = ["ProtocolMessage", "Request", "Response", "Event"];

/// The JSON Schema dialect the DAP schema is written in.
const DRAFT_04: &str = "http://json-schema.org/draft-04/schema";

/// Parses `bytes` and checks that they are a DAP schema; `what` names the input in errors.
pub(crate) fn parse_dap_schema(bytes: &[u8], what: &str) -> Result<Value, VendorError> {
    let not_dap = |why: String| VendorError::NotDapSchema(format!("{what}: {why}"));
    let text = std::str::from_utf8(bytes).map_err(|e| not_dap(format!("not UTF-8 text ({e})")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| not_dap(format!("not valid JSON ({e})")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| not_dap("top level is not a JSON object".into()))?;
    match obj.get("$schema") {
        Some(Value::String(s)) if s.trim_end_matches('#') == DRAFT_04 => {}
        Some(other) => {
            return Err(not_dap(format!(
                "`$schema` is {other}, expected \"{DRAFT_04}#\" (draft-04)"
            )));
        }
        None => return Err(not_dap("no `$schema` key (expected draft-04)".into())),
    }
    let defs = obj
        .get("definitions")
        .and_then(Value::as_object)
        .ok_or_else(|| not_dap("no `definitions` object".into()))?;
    let missing: Vec<&str> = BASE_DEFINITIONS
        .iter()
        .copied()
        .filter(|name| !defs.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        return Err(not_dap(format!(
            "not a DAP schema: `definitions` lacks {}",
            missing.join(", ")
        )));
    }
    Ok(value)
}

/// Number of definitions in a schema accepted by [`parse_dap_schema`].
pub(crate) fn definition_count(schema: &Value) -> usize {
    schema
        .get("definitions")
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> String {
        parse_dap_schema(bytes, "input")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn accepts_minimal_dap_schema() {
        let text = br#"{"$schema":"http://json-schema.org/draft-04/schema#","definitions":
            {"ProtocolMessage":{},"Request":{},"Response":{},"Event":{}}}"#;
        let value = parse_dap_schema(text, "input");
        assert_eq!(value.as_ref().map(definition_count).ok(), Some(4));
    }

    #[test]
    fn rejects_with_reasons() {
        assert!(err(b"\xff\xfe").contains("not UTF-8"));
        assert!(err(b"{").contains("not valid JSON"));
        assert!(err(b"[]").contains("not a JSON object"));
        assert!(err(br#"{"definitions":{}}"#).contains("no `$schema`"));
        assert!(
            err(br#"{"$schema":"http://json-schema.org/draft-07/schema#"}"#).contains("draft-04")
        );
        let e = err(br#"{"$schema":"http://json-schema.org/draft-04/schema#","definitions":{"Request":{}}}"#);
        assert!(e.contains("lacks ProtocolMessage, Response, Event"), "{e}");
    }
}
