//! Rust names for schema names: types, fields and enum variants.

/// `PascalCase` of a schema word or phrase: `"function breakpoint"` → `FunctionBreakpoint`,
/// `"notStopped"` → `NotStopped`, `"__restart"` → `Restart`.
pub fn pascal(name: &str) -> String {
    let mut out = String::new();
    let mut upper_next = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper_next {
                out.push(c.to_ascii_uppercase());
                upper_next = false;
            } else {
                out.push(c);
            }
        } else {
            upper_next = true;
        }
    }
    if out.is_empty() {
        out.push_str("Empty");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// `snake_case` of a JSON property name, safe as a Rust field name: `"requestSeq"` →
/// `request_seq`, `"__restart"` → `restart`, `"type"` → `type_`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let trimmed = out.trim_matches('_').to_owned();
    let mut out = if trimmed.is_empty() {
        "field".to_owned()
    } else {
        trimmed
    };
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'f');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "as" | "async"
            | "await"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "yield"
            | "extra"
    )
}

/// Makes `name` unique among `taken` by appending a counter, and records it.
pub fn unique(name: String, taken: &mut Vec<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name}{n}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(pascal("function breakpoint"), "FunctionBreakpoint");
        assert_eq!(pascal("notStopped"), "NotStopped");
        assert_eq!(pascal("readWrite"), "ReadWrite");
        assert_eq!(pascal("1"), "V1");
        assert_eq!(snake("request_seq"), "request_seq");
        assert_eq!(
            snake("supportsConfigurationDoneRequest"),
            "supports_configuration_done_request"
        );
        assert_eq!(snake("__restart"), "restart");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("extra"), "extra_");
        assert_eq!(snake("memoryReference"), "memory_reference");
        assert_eq!(snake("x64Id"), "x64_id");
    }
}
