//! The `schema/UPSTREAM` provenance record (where the vendored schema came from, its
//! protocol version and SHA-256), plus the digest and UTC-date helpers it needs.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::VendorError;

/// The canonical location of the DAP schema.
pub(crate) const CANONICAL_URL: &str = "https://raw.githubusercontent.com/microsoft/debug-adapter-protocol/main/debugAdapterProtocol.json";

/// Contents of `schema/UPSTREAM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upstream {
    /// Canonical URL of the schema.
    pub upstream: String,
    /// DAP protocol version the vendored copy corresponds to (e.g. `1.71`).
    pub protocol_version: String,
    /// Lower-case hex SHA-256 of the vendored file's bytes.
    pub sha256: String,
    /// How this particular copy was obtained.
    pub source: String,
    /// UTC date (`YYYY-MM-DD`) the copy was vendored.
    pub date: String,
}

impl Upstream {
    /// Parses the JSON text of an UPSTREAM file; every field must be a string.
    pub(crate) fn parse(text: &str) -> Result<Self, VendorError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| VendorError::Upstream(format!("not valid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| VendorError::Upstream("top level is not a JSON object".into()))?;
        let field = |name: &str| -> Result<String, VendorError> {
            match obj.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(VendorError::Upstream(format!(
                    "field `{name}` is not a string"
                ))),
                None => Err(VendorError::Upstream(format!("field `{name}` is missing"))),
            }
        };
        let record = Upstream {
            upstream: field("upstream")?,
            protocol_version: field("protocolVersion")?,
            sha256: field("sha256")?,
            source: field("source")?,
            date: field("date")?,
        };
        let hex_ok = record.sha256.len() == 64
            && record
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(VendorError::Upstream(format!(
                "field `sha256` is not 64 lower-case hex digits: {:?}",
                record.sha256
            )));
        }
        Ok(record)
    }

    /// Serializes with a fixed key order and a trailing newline.
    pub(crate) fn to_json(&self) -> String {
        let q = |s: &str| Value::String(s.to_owned()).to_string();
        format!(
            "{{\n  \"upstream\": {},\n  \"protocolVersion\": {},\n  \"sha256\": {},\n  \"source\": {},\n  \"date\": {}\n}}\n",
            q(&self.upstream),
            q(&self.protocol_version),
            q(&self.sha256),
            q(&self.source),
            q(&self.date)
        )
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub(crate) fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a "year".
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // `day` is in 1..=31 and `month` in 1..=12 by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_818), (2026, 12, 31));
    }

    #[test]
    fn today_is_well_formed() {
        let t = today_utc();
        assert_eq!(t.len(), 10, "{t}");
        assert!(t.as_str() >= "2024-01-01", "{t}");
    }

    #[test]
    fn round_trip_and_field_errors() {
        let rec = Upstream {
            upstream: CANONICAL_URL.into(),
            protocol_version: "1.71".into(),
            sha256: sha256_hex(b"abc"),
            source: "a \"quoted\" source".into(),
            date: "2026-11-21".into(),
        };
        assert_eq!(
            rec.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let text = rec.to_json();
        assert!(text.starts_with("{\n  \"upstream\""), "{text}");
        assert_eq!(Upstream::parse(&text).ok(), Some(rec));
        let err =
            Upstream::parse(r#"{"upstream":"u","protocolVersion":"1","sha256":"x","source":"s"}"#)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
        assert!(err.contains("`date` is missing"), "{err}");
    }
}
