//! Reading a result column of any type as JSON, a number and text.
//!
//! Checks are written by playbook authors, so drctl cannot know the column
//! type in advance. [`Cell`] accepts every type and decodes the common ones
//! (integers, floats, numeric, booleans, text, timestamps, dates, JSON).
//! Other types report that they are unsupported and suggest a cast to text.

use std::error::Error;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use tokio_postgres::types::{FromSql, Type};

/// One decoded value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A `numeric`, kept as its exact decimal text.
    Numeric(String),
    Text(String),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Date(NaiveDate),
    Json(serde_json::Value),
    /// A type drctl does not decode, with the type name.
    Unsupported(String),
}

impl Cell {
    /// Converts the value to a number, when it is numeric (booleans count as 0 and 1).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Cell::Int(value) => Some(*value as f64),
            Cell::Float(value) => Some(*value),
            Cell::Numeric(text) => text.parse().ok(),
            Cell::Bool(value) => Some(if *value { 1.0 } else { 0.0 }),
            Cell::Text(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// Formats the value as text, as PostgreSQL would print it (timestamps in RFC 3339).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Cell::Null | Cell::Unsupported(_) => None,
            Cell::Bool(value) => Some(if *value { "t" } else { "f" }.to_string()),
            Cell::Int(value) => Some(value.to_string()),
            Cell::Float(value) => Some(value.to_string()),
            Cell::Numeric(text) | Cell::Text(text) => Some(text.clone()),
            Cell::Timestamp(value) => Some(value.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            Cell::TimestampTz(value) => Some(value.to_rfc3339()),
            Cell::Date(value) => Some(value.to_string()),
            Cell::Json(value) => Some(value.to_string()),
        }
    }

    /// Converts the value to JSON for a check record.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Cell::Null => serde_json::Value::Null,
            Cell::Bool(value) => serde_json::Value::Bool(*value),
            Cell::Int(value) => serde_json::json!(value),
            Cell::Float(value) => serde_json::json!(value),
            Cell::Json(value) => value.clone(),
            Cell::Unsupported(type_name) => serde_json::json!(format!("<unsupported type {type_name}>")),
            other => serde_json::Value::String(other.as_text().unwrap_or_default()),
        }
    }
}

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let cell = match *ty {
            Type::BOOL => Cell::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Cell::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Cell::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Cell::Int(i64::from_sql(ty, raw)?),
            Type::OID => Cell::Int(u32::from_sql(ty, raw)?.into()),
            Type::FLOAT4 => Cell::Float(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Cell::Float(f64::from_sql(ty, raw)?),
            Type::NUMERIC => Cell::Numeric(decode_numeric(raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Cell::Text(String::from_sql(ty, raw)?),
            Type::TIMESTAMP => Cell::Timestamp(NaiveDateTime::from_sql(ty, raw)?),
            Type::TIMESTAMPTZ => Cell::TimestampTz(DateTime::<Utc>::from_sql(ty, raw)?),
            Type::DATE => Cell::Date(NaiveDate::from_sql(ty, raw)?),
            Type::JSON | Type::JSONB => Cell::Json(serde_json::Value::from_sql(ty, raw)?),
            _ if ty.name() == "citext" => Cell::Text(String::from_utf8(raw.to_vec())?),
            _ => Cell::Unsupported(ty.name().to_string()),
        };
        Ok(cell)
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Cell::Null)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Decodes PostgreSQL's binary `numeric`: digit count, weight, sign and display
/// scale as big-endian 16-bit fields, then base-10000 digits, the first one
/// worth 10000^weight.
fn decode_numeric(raw: &[u8]) -> Result<String, Box<dyn Error + Sync + Send>> {
    let field = |index: usize| -> Result<u16, Box<dyn Error + Sync + Send>> {
        raw.get(index * 2..index * 2 + 2)
            .map(|bytes| u16::from_be_bytes([bytes[0], bytes[1]]))
            .ok_or_else(|| "numeric value is truncated".into())
    };
    let count = usize::from(field(0)?);
    let weight = i32::from(field(1)? as i16);
    let sign = field(2)?;
    let scale = usize::from(field(3)?);
    match sign {
        0xC000 => return Ok("NaN".to_string()),
        0xD000 => return Ok("Infinity".to_string()),
        0xF000 => return Ok("-Infinity".to_string()),
        _ => {}
    }
    let digits = (0..count).map(|index| field(4 + index)).collect::<Result<Vec<u16>, _>>()?;
    let digit_at = |position: i32| -> u16 {
        // `position` counts base-10000 groups from the most significant one.
        usize::try_from(position).ok().and_then(|index| digits.get(index).copied()).unwrap_or(0)
    };

    let mut integer = String::new();
    for position in 0..=weight.max(0) {
        let group = if weight < 0 { 0 } else { digit_at(position) };
        if integer.is_empty() {
            integer.push_str(&group.to_string());
        } else {
            integer.push_str(&format!("{group:04}"));
        }
    }
    let mut fraction = String::new();
    let mut position = weight + 1;
    while fraction.len() < scale {
        fraction.push_str(&format!("{:04}", digit_at(position)));
        position += 1;
    }
    fraction.truncate(scale);

    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    text.push_str(&integer);
    if scale > 0 {
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(count: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for value in [count, weight as u16, sign, scale].into_iter().chain(digits.iter().copied()) {
            raw.extend_from_slice(&value.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numeric_decodes_integer_and_fraction() {
        // 12345.678 = groups [1, 2345, 6780], weight 1, scale 3.
        assert_eq!(decode_numeric(&numeric(3, 1, 0, 3, &[1, 2345, 6780])).unwrap(), "12345.678");
    }

    #[test]
    fn numeric_decodes_small_negative() {
        // -0.0005 = group [5] at weight -1, scale 4.
        assert_eq!(decode_numeric(&numeric(1, -1, 0x4000, 4, &[5])).unwrap(), "-0.0005");
    }

    #[test]
    fn numeric_decodes_zero_and_trailing_zero_groups() {
        assert_eq!(decode_numeric(&numeric(0, 0, 0, 0, &[])).unwrap(), "0");
        // 20000 = group [2] at weight 1 with the zero group omitted.
        assert_eq!(decode_numeric(&numeric(1, 1, 0, 0, &[2])).unwrap(), "20000");
    }

    #[test]
    fn truncated_numeric_is_an_error() {
        assert!(decode_numeric(&[0, 1]).is_err());
    }
}
