//! How a live request's arguments are compared with a recorded request's.

use serde_json::{Map, Number, Value};

/// The arguments as replay compares them: members whose name starts with `__` (private
/// members clients add, like VS Code's `__sessionId`) and members whose value is `null`
/// are dropped at any depth; a number with an integral value is compared as that integer
/// (`1.0` equals `1`); member order never matters (JSON objects compare as maps). A missing
/// `arguments` equals `{}`.
pub fn normalize_arguments(arguments: Option<&Value>) -> Value {
    match arguments {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v) => normalize(v),
    }
}

fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !k.starts_with("__") && !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Number(n) => Value::Number(integral(n).unwrap_or_else(|| n.clone())),
        other => other.clone(),
    }
}

fn integral(n: &Number) -> Option<Number> {
    if n.is_i64() || n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    // Within ±2^53 an integral f64 is an exact integer.
    (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then(|| Number::from(f as i64))
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn private_members_nulls_order_and_number_spellings_do_not_count() {
        let a = json!({"program": "/p.py", "__sessionId": "abc", "env": {"A": "1"}, "levels": 20.0, "x": null});
        let b = json!({"levels": 20, "env": {"A": "1"}, "program": "/p.py"});
        assert_eq!(normalize_arguments(Some(&a)), normalize_arguments(Some(&b)));
        let c = json!({"levels": 21, "env": {"A": "1"}, "program": "/p.py"});
        assert_ne!(normalize_arguments(Some(&a)), normalize_arguments(Some(&c)));
        assert_eq!(
            normalize_arguments(None),
            normalize_arguments(Some(&json!({})))
        );
        assert_ne!(
            normalize_arguments(Some(&json!({"l": 1.5}))),
            normalize_arguments(Some(&json!({"l": 1})))
        );
    }
}
