//! Schema descriptions as rustdoc text that raises no rustdoc or clippy warnings.
//!
//! DAP descriptions are markdown written for the spec web site: `[...]` that is not a link,
//! `<...>` that is not HTML, bare URLs and list items with lazy continuation lines. This
//! module escapes what rustdoc would misread and indents continuation lines.

/// Turns a schema description into doc lines.
pub fn doc_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_list = false;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            in_list = false;
            lines.push(String::new());
            continue;
        }
        let is_item = trimmed.starts_with("- ")
            || trimmed.starts_with("* ")
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let escaped = escape(trimmed);
        if is_item {
            in_list = true;
            lines.push(escaped);
        } else if in_list {
            lines.push(format!("  {escaped}"));
        } else {
            lines.push(escaped);
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Escapes markdown that rustdoc would misread, outside of code spans.
fn escape(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_code = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
            rest = &rest[1..];
            continue;
        }
        if !in_code {
            if rest.starts_with("http://") || rest.starts_with("https://") {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == ')' || c == '`' || c == '\'')
                    .unwrap_or(rest.len());
                let url = rest[..end].trim_end_matches(['.', ',', ';']);
                out.push('<');
                out.push_str(url);
                out.push('>');
                rest = &rest[url.len()..];
                continue;
            }
            if matches!(c, '[' | ']' | '<' | '>' | '*' | '_' | '\\') {
                out.push('\\');
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if in_code {
        // An unbalanced backtick would swallow the rest of the doc; close the span.
        out.push('`');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_indents() {
        let lines = doc_lines("See [x] and <y>.\n- item\ncontinued `a[0]`\nhttps://example.org/x.");
        assert_eq!(
            lines,
            vec![
                "See \\[x\\] and \\<y\\>.",
                "- item",
                "  continued `a[0]`",
                "  <https://example.org/x>."
            ]
        );
    }
}
