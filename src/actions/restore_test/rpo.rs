//! Measuring data loss from the newest row of a timestamp column.
//!
//! RPO here is the reference time (the incident, or the restore point) minus
//! the newest timestamp in the column: the span of writes the restored data
//! does not contain. A `timestamp` column without a time zone is read as UTC,
//! which is how Prisma (LiteLLM's ORM) and most services store it.

use chrono::{DateTime, Utc};

use super::value::Cell;

/// Quotes one identifier for PostgreSQL, doubling embedded quotes.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a table name, splitting `schema.table` at its first dot. A name whose
/// only dot belongs to the table itself cannot be written here.
pub fn quote_table(table: &str) -> String {
    match table.split_once('.') {
        Some((schema, name)) if !schema.is_empty() && !name.is_empty() => {
            format!("{}.{}", quote_identifier(schema), quote_identifier(name))
        }
        _ => quote_identifier(table),
    }
}

/// Builds the query that reads the newest timestamp.
pub fn newest_row_query(table: &str, column: &str) -> String {
    format!("SELECT max({}) FROM {}", quote_identifier(column), quote_table(table))
}

/// Converts the `max()` result to an instant.
pub fn newest_row_time(cell: &Cell) -> Result<Option<DateTime<Utc>>, String> {
    match cell {
        Cell::Null => Ok(None),
        Cell::TimestampTz(value) => Ok(Some(*value)),
        Cell::Timestamp(value) => Ok(Some(value.and_utc())),
        Cell::Date(value) => Ok(value.and_hms_opt(0, 0, 0).map(|time| time.and_utc())),
        other => Err(format!(
            "the column is not a timestamp (read {}); name a timestamp or timestamptz column",
            other.to_json()
        )),
    }
}

/// Data loss in seconds: `reference - newest`. Negative when the data is newer
/// than the reference, for example a restore point slightly before the last commit.
pub fn rpo_seconds(reference: DateTime<Utc>, newest: DateTime<Utc>) -> f64 {
    (reference - newest).num_microseconds().map_or_else(
        || (reference - newest).num_seconds() as f64,
        |micros| micros as f64 / 1_000_000.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("startTime"), "\"startTime\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn schema_qualified_table_is_split() {
        assert_eq!(quote_table("public.LiteLLM_SpendLogs"), "\"public\".\"LiteLLM_SpendLogs\"");
        assert_eq!(quote_table("LiteLLM_SpendLogs"), "\"LiteLLM_SpendLogs\"");
    }

    #[test]
    fn injection_stays_inside_identifier() {
        let query = newest_row_query("t\"; DROP TABLE x; --", "c");
        assert_eq!(query, "SELECT max(\"c\") FROM \"t\"\"; DROP TABLE x; --\"");
    }

    #[test]
    fn rpo_is_reference_minus_newest() {
        let reference = DateTime::parse_from_rfc3339("2026-01-01T00:10:00Z").unwrap().with_timezone(&Utc);
        let newest = DateTime::parse_from_rfc3339("2026-01-01T00:07:30.5Z").unwrap().with_timezone(&Utc);
        assert_eq!(rpo_seconds(reference, newest), 149.5);
    }

    #[test]
    fn naive_timestamp_is_utc() {
        let naive = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(1, 2, 3).unwrap();
        let time = newest_row_time(&Cell::Timestamp(naive)).unwrap().unwrap();
        assert_eq!(time.to_rfc3339(), "2026-01-01T01:02:03+00:00");
        assert!(newest_row_time(&Cell::Int(3)).is_err());
        assert_eq!(newest_row_time(&Cell::Null).unwrap(), None);
    }
}
