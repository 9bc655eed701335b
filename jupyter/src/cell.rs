//! The file a kernel's debugger gives a cell's code, known without asking the kernel: the
//! name to expect from `dumpCell`, in stack frames and in `debugInfo`'s breakpoints.
//! (debugpy verifies a breakpoint only in a file that exists: `dumpCell` the code before
//! `setBreakpoints` on it, as JupyterLab does.)

use serde_json::Value;

/// What a cell's file name depends on: from the body of the kernel's `debugInfo` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellNaming {
    /// `hashMethod` (ipykernel: `Murmur2`; the only one supported).
    pub hash_method: String,
    /// `hashSeed`.
    pub hash_seed: u32,
    /// `tmpFilePrefix` (a directory and separator).
    pub prefix: String,
    /// `tmpFileSuffix` (`.py`).
    pub suffix: String,
}

impl CellNaming {
    /// Reads the naming from a `debugInfo` response body; the error names the member that
    /// is missing or of the wrong kind.
    pub fn from_debug_info(body: &Value) -> Result<CellNaming, String> {
        let text = |name: &str| {
            body[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("debugInfo body lacks a string `{name}`: {body}"))
        };
        let hash_method = text("hashMethod")?;
        if !hash_method.eq_ignore_ascii_case("murmur2") {
            return Err(format!(
                "debugInfo `hashMethod` is {hash_method:?}; only \"Murmur2\" is supported"
            ));
        }
        // ipykernel sends the seed as an integer; accept its decimal text too.
        let seed = match &body["hashSeed"] {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        let hash_seed = seed.and_then(|s| u32::try_from(s).ok()).ok_or_else(|| {
            format!(
                "debugInfo `hashSeed` is not a 32-bit unsigned integer: {}",
                body["hashSeed"]
            )
        })?;
        Ok(CellNaming {
            hash_method,
            hash_seed,
            prefix: text("tmpFilePrefix")?,
            suffix: text("tmpFileSuffix")?,
        })
    }

    /// The file the kernel writes `code` to (`dumpCell`) and compiles it as:
    /// `tmpFilePrefix` + murmur2(UTF-8 of `code`, `hashSeed`) in decimal + `tmpFileSuffix`.
    pub fn file_name(&self, code: &str) -> String {
        format!(
            "{}{}{}",
            self.prefix,
            murmur2::murmur2(code.as_bytes(), self.hash_seed),
            self.suffix
        )
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_the_debug_info() {
        let naming = CellNaming::from_debug_info(&json!({
            "hashMethod": "Murmur2", "hashSeed": 3339675911u32,
            "tmpFilePrefix": "/tmp/ipykernel_1/", "tmpFileSuffix": ".py"}))
        .expect("ipykernel's debugInfo");
        let name = naming.file_name("x = 1\n");
        assert!(
            name.starts_with("/tmp/ipykernel_1/") && name.ends_with(".py"),
            "{name}"
        );
        assert_ne!(name, naming.file_name("x = 2\n"));
    }

    #[test]
    fn hashes_equal_ipykernels_murmur2() {
        // Values printed by ipykernel 7.4's `compiler.murmur2_x86(code, 0xC70F6907)`.
        let naming = CellNaming {
            hash_method: "Murmur2".into(),
            hash_seed: 0xC70F6907,
            prefix: String::new(),
            suffix: String::new(),
        };
        for (code, expected) in [
            ("", "3990065800"),
            ("a", "2167009006"),
            ("ab", "2805137849"),
            ("abc", "3350977461"),
            ("x = 1\n", "1602534638"),
            (
                "def f():\n    return \"\u{e9}\u{20ac}\u{1f600}\"\n",
                "2605424672",
            ),
        ] {
            assert_eq!(naming.file_name(code), expected, "{code:?}");
        }
    }

    #[test]
    fn bad_debug_info_is_named() {
        let base = json!({"hashMethod": "Murmur2", "hashSeed": 1, "tmpFilePrefix": "/t/", "tmpFileSuffix": ".py"});
        for (key, value, expected) in [
            ("hashMethod", json!("Murmur3"), "Murmur3"),
            ("hashSeed", json!(-1), "hashSeed"),
            ("tmpFilePrefix", json!(null), "tmpFilePrefix"),
        ] {
            let mut body = base.clone();
            body[key] = value;
            let err = CellNaming::from_debug_info(&body).expect_err("invalid debugInfo");
            assert!(err.contains(expected), "{err}");
        }
    }
}
