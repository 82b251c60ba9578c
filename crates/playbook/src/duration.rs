//! Durations written with units, as playbooks spell them: `500ms`, `90s`, `15m`, `1h30m`, `2d`.
//!
//! A bare number is rejected on purpose: in a recovery playbook "30" could mean
//! seconds or minutes, and a wrong guess turns a 30-minute timeout into 30 seconds.

use std::fmt;
use std::time::Duration as StdDuration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time parsed from text with units, such as `15m` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub StdDuration);

const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

impl Duration {
    pub const ZERO: Duration = Duration(StdDuration::ZERO);

    pub fn from_secs(secs: u64) -> Self {
        Duration(StdDuration::from_secs(secs))
    }

    pub fn as_std(self) -> StdDuration {
        self.0
    }

    /// Parses `90s`, `15m`, `1h30m`, `250ms` or `2d`. Components must come in
    /// decreasing unit order and each unit may appear once.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("empty duration; write a number with a unit, such as 90s or 15m".into());
        }
        let mut total_ms: u64 = 0;
        let mut rest = trimmed;
        let mut last_unit_rank = usize::MAX;
        while !rest.is_empty() {
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(format!(
                    "invalid duration '{text}': expected a number at '{rest}'; write for example 90s, 15m or 1h30m"
                ));
            }
            let number: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("invalid duration '{text}': number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let Some(rank) = UNITS.iter().position(|(name, _)| *name == unit) else {
                return Err(if unit.is_empty() {
                    format!("invalid duration '{text}': '{number}' has no unit; add one of ms, s, m, h, d (for example {number}s)")
                } else {
                    format!("invalid duration '{text}': unknown unit '{unit}'; use ms, s, m, h or d")
                });
            };
            // UNITS is ordered from smallest to largest, so a valid sequence has falling ranks.
            if rank >= last_unit_rank {
                return Err(format!(
                    "invalid duration '{text}': units must go from largest to smallest, each once (for example 1h30m)"
                ));
            }
            last_unit_rank = rank;
            total_ms = number
                .checked_mul(UNITS[rank].1)
                .and_then(|ms| total_ms.checked_add(ms))
                .ok_or_else(|| format!("invalid duration '{text}': too large"))?;
        }
        Ok(Duration(StdDuration::from_millis(total_ms)))
    }
}

impl fmt::Display for Duration {
    /// Prints the canonical form, largest unit first: `1h30m`, `90s` prints as `1m30s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (name, unit_ms) in UNITS.iter().rev() {
            if ms >= *unit_ms {
                write!(f, "{}{}", ms / unit_ms, name)?;
                ms %= unit_ms;
            }
        }
        Ok(())
    }
}

impl From<StdDuration> for Duration {
    fn from(value: StdDuration) -> Self {
        Duration(value)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with a unit, such as 90s, 15m or 1h30m")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Duration, E> {
                Duration::parse(value).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "duration {value} has no unit; write for example {value}s or {value}m"
                )))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Duration, E> {
                self.visit_u64(value.unsigned_abs())
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "duration {value} has no unit; write for example 90s or 15m"
                )))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$",
            "description": "A duration with units, largest first: 500ms, 90s, 15m, 1h30m, 2d."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(Duration::parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(Duration::parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(Duration::parse("250ms").unwrap().0, StdDuration::from_millis(250));
        assert_eq!(Duration::parse("2d").unwrap(), Duration::from_secs(172_800));
    }

    #[test]
    fn rejects_missing_unit() {
        let error = Duration::parse("30").unwrap_err();
        assert!(error.contains("no unit"), "{error}");
    }

    #[test]
    fn rejects_unknown_unit() {
        let error = Duration::parse("5w").unwrap_err();
        assert!(error.contains("unknown unit 'w'"), "{error}");
    }

    #[test]
    fn rejects_units_out_of_order() {
        assert!(Duration::parse("30m1h").is_err());
        assert!(Duration::parse("1m1m").is_err());
    }

    #[test]
    fn displays_canonical_form() {
        assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
        assert_eq!(Duration::from_secs(5400).to_string(), "1h30m");
        assert_eq!(Duration::ZERO.to_string(), "0s");
    }
}
