//! Judging a check's rows against its expectation.

use drctl_playbook::kinds::Expectation;

use super::value::Cell;

/// The verdict on one check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    /// The value compared: the first cell, or the row count for `rows`.
    pub value: serde_json::Value,
    pub message: String,
}

/// Writes the expectation as one line, such as `> 0`, `between [1, 5]` or `rows == 3`.
pub fn describe(expect: &Expectation) -> String {
    if let Some(scalar) = &expect.scalar {
        scalar.trim().to_string()
    } else if let Some([low, high]) = expect.between {
        format!("between [{low}, {high}]")
    } else if let Some(rows) = &expect.rows {
        format!("rows {}", rows.trim())
    } else if let Some(pattern) = &expect.matches {
        format!("matches /{pattern}/")
    } else {
        "no rows".to_string()
    }
}

/// Comparison operators, longest first so `>=` is not read as `>`.
const OPERATORS: &[&str] = &["==", "!=", ">=", "<=", ">", "<"];

/// Splits a comparison such as `>= 10` into its operator and number. The
/// playbook loader checks the same syntax, so a failure here means the value
/// came from an expression resolved at run time.
fn parse_comparison(text: &str) -> Result<(&'static str, f64), String> {
    let trimmed = text.trim();
    let Some(operator) = OPERATORS.iter().find(|operator| trimmed.starts_with(**operator)) else {
        return Err(format!("comparison '{text}' has no operator; start it with one of == != >= <= > <"));
    };
    let number = trimmed[operator.len()..].trim();
    number
        .parse::<f64>()
        .map(|value| (*operator, value))
        .map_err(|_| format!("comparison '{text}': '{number}' is not a number"))
}

/// Compares `actual` with `expected` using a playbook operator.
fn compare(operator: &str, actual: f64, expected: f64) -> bool {
    match operator {
        "==" => actual == expected,
        "!=" => actual != expected,
        ">=" => actual >= expected,
        "<=" => actual <= expected,
        ">" => actual > expected,
        "<" => actual < expected,
        _ => false,
    }
}

/// Judges `rows` (each row's first cell, or none for a row without columns) against `expect`.
pub fn judge(expect: &Expectation, first_cells: &[Option<Cell>]) -> Verdict {
    let first = first_cells.first();
    let first_value = first.and_then(|cell| cell.as_ref()).map_or(serde_json::Value::Null, Cell::to_json);

    if expect.no_rows {
        let passed = first_cells.is_empty();
        let message = if passed {
            "the query returned no rows".to_string()
        } else {
            format!("expected no rows, the query returned {}", first_cells.len())
        };
        return Verdict { passed, value: serde_json::json!(first_cells.len()), message };
    }

    if let Some(rows) = &expect.rows {
        let count = first_cells.len();
        return match parse_comparison(rows) {
            Ok((operator, expected)) => {
                let passed = compare(operator, count as f64, expected);
                let message = format!("{count} rows, expected rows {operator} {expected}");
                Verdict { passed, value: serde_json::json!(count), message }
            }
            Err(problem) => Verdict { passed: false, value: serde_json::json!(count), message: problem },
        };
    }

    let Some(cell) = first else {
        return Verdict { passed: false, value: serde_json::Value::Null, message: "the query returned no rows".to_string() };
    };
    let Some(cell) = cell else {
        return Verdict { passed: false, value: serde_json::Value::Null, message: "the query returned no columns".to_string() };
    };

    if let Some(pattern) = &expect.matches {
        let Some(text) = cell.as_text() else {
            return Verdict { passed: false, value: first_value, message: format!("the first value is {cell:?}, not text") };
        };
        return match regex::Regex::new(pattern) {
            Ok(regex) => {
                let passed = regex.is_match(&text);
                let verb = if passed { "matches" } else { "does not match" };
                Verdict { passed, value: first_value, message: format!("'{text}' {verb} /{pattern}/") }
            }
            Err(error) => Verdict { passed: false, value: first_value, message: format!("invalid regular expression /{pattern}/: {error}") },
        };
    }

    let Some(number) = cell.as_number() else {
        let message = match cell {
            Cell::Null => "the first value is NULL, not a number".to_string(),
            Cell::Unsupported(type_name) => format!("the first value has type {type_name}, which drctl cannot compare; cast it in SQL"),
            other => format!("the first value {} is not a number", other.as_text().unwrap_or_default()),
        };
        return Verdict { passed: false, value: first_value, message };
    };

    if let Some([low, high]) = expect.between {
        let passed = (low..=high).contains(&number);
        let verb = if passed { "lies" } else { "does not lie" };
        return Verdict { passed, value: first_value, message: format!("{number} {verb} between {low} and {high}") };
    }

    let scalar = expect.scalar.as_deref().unwrap_or("");
    match parse_comparison(scalar) {
        Ok((operator, expected)) => {
            let passed = compare(operator, number, expected);
            let verb = if passed { "satisfies" } else { "does not satisfy" };
            Verdict { passed, value: first_value, message: format!("{number} {verb} {operator} {expected}") }
        }
        Err(problem) => Verdict { passed: false, value: first_value, message: problem },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> Expectation {
        Expectation { scalar: Some(text.to_string()), ..Expectation::default() }
    }

    #[test]
    fn scalar_comparisons() {
        let cases = [
            ("> 0", Cell::Int(5), true),
            ("> 0", Cell::Int(0), false),
            ("== 42", Cell::Numeric("42.000".to_string()), true),
            ("!= 0", Cell::Float(0.0), false),
            ("<= 3", Cell::Int(3), true),
            ("> 0", Cell::Null, false),
            ("> 0", Cell::Text("abc".to_string()), false),
        ];
        for (comparison, cell, expected) in cases {
            let verdict = judge(&scalar(comparison), &[Some(cell.clone())]);
            assert_eq!(verdict.passed, expected, "{comparison} on {cell:?}: {}", verdict.message);
        }
    }

    #[test]
    fn scalar_without_rows_fails() {
        let verdict = judge(&scalar("> 0"), &[]);
        assert!(!verdict.passed);
        assert!(verdict.message.contains("no rows"));
    }

    #[test]
    fn between_is_inclusive() {
        let expect = Expectation { between: Some([1.0, 5.0]), ..Expectation::default() };
        assert!(judge(&expect, &[Some(Cell::Int(5))]).passed);
        assert!(!judge(&expect, &[Some(Cell::Int(6))]).passed);
    }

    #[test]
    fn rows_counts_rows() {
        let expect = Expectation { rows: Some("== 2".to_string()), ..Expectation::default() };
        assert!(judge(&expect, &[Some(Cell::Int(1)), Some(Cell::Int(2))]).passed);
        assert!(!judge(&expect, &[Some(Cell::Int(1))]).passed);
    }

    #[test]
    fn matches_uses_text() {
        let expect = Expectation { matches: Some("^PostgreSQL 1[0-9]".to_string()), ..Expectation::default() };
        assert!(judge(&expect, &[Some(Cell::Text("PostgreSQL 17.4 on x86_64".to_string()))]).passed);
        assert!(!judge(&expect, &[Some(Cell::Text("MySQL".to_string()))]).passed);
    }

    #[test]
    fn no_rows_expectation() {
        let expect = Expectation { no_rows: true, ..Expectation::default() };
        assert!(judge(&expect, &[]).passed);
        assert!(!judge(&expect, &[Some(Cell::Int(1))]).passed);
    }

    #[test]
    fn expectation_descriptions() {
        assert_eq!(describe(&scalar(" > 0 ")), "> 0");
        assert_eq!(describe(&Expectation { between: Some([1.0, 2.5]), ..Expectation::default() }), "between [1, 2.5]");
        assert_eq!(describe(&Expectation { no_rows: true, ..Expectation::default() }), "no rows");
    }
}
