//! Strict typed decoding of JSON nodes that reports every error, not the first.
//!
//! serde stops at the first error. To collect all of them, [`decode_all`]
//! records the error, removes the offending key from a scratch copy of the
//! node, and decodes again, until the node decodes or a required key is
//! missing. Array elements are never removed, so recorded paths keep the
//! original indexes and still match the document's positions.

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, suggestion_help};
use crate::document::{Document, escape_pointer};

/// Decodes `value` (found at `pointer` in `document`) into `T`. Returns the
/// diagnostics for every error found, and the value decoded without the
/// offending keys (so later checks can go on) unless a required key is
/// missing or the node itself has the wrong type.
/// `context` names the node in messages, such as "step 'restore'".
pub fn decode_all<T: DeserializeOwned>(
    document: &Document,
    pointer: &str,
    value: &serde_json::Value,
    context: &str,
) -> (Option<T>, Vec<Diagnostic>) {
    let mut scratch = value.clone();
    let mut diagnostics = Vec::new();
    let mut removed: Vec<String> = Vec::new();

    // Each round removes one key, so the number of rounds is bounded by the
    // number of keys in the node.
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&scratch) {
            Ok(decoded) => return (Some(decoded), diagnostics),
            Err(error) => error,
        };
        let segments: Vec<Segment> = error
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                _ => None,
            })
            .collect();
        let message = error.inner().to_string();

        // A required key that an earlier round removed: its error is already reported.
        if let Some(missing) = quoted_after(&message, "missing field `") {
            let parent = pointer_of(pointer, &segments);
            if !removed.contains(&format!("{parent}/{}", escape_pointer(&missing))) {
                diagnostics.push(missing_key(document, &parent, &missing, context));
            }
            return (None, diagnostics);
        }

        diagnostics.push(describe_error(
            document, pointer, &segments, &message, context,
        ));
        let Some(key_index) = segments.iter().rposition(|s| matches!(s, Segment::Key(_))) else {
            return (None, diagnostics);
        };
        if !remove_key(&mut scratch, &segments[..=key_index]) {
            return (None, diagnostics);
        }
        removed.push(pointer_of(pointer, &segments[..=key_index]));
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

fn pointer_of(base: &str, segments: &[Segment]) -> String {
    let mut pointer = base.to_string();
    for segment in segments {
        pointer.push('/');
        match segment {
            Segment::Key(key) => pointer.push_str(&escape_pointer(key)),
            Segment::Index(index) => pointer.push_str(&index.to_string()),
        }
    }
    pointer
}

fn remove_key(value: &mut serde_json::Value, path: &[Segment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = value;
    for segment in parents {
        current = match (segment, current) {
            (Segment::Key(key), serde_json::Value::Object(map)) => match map.get_mut(key) {
                Some(child) => child,
                None => return false,
            },
            (Segment::Index(index), serde_json::Value::Array(items)) => match items.get_mut(*index)
            {
                Some(child) => child,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, current) {
        (Segment::Key(key), serde_json::Value::Object(map)) => map.shift_remove(key).is_some(),
        _ => false,
    }
}

/// The text between `prefix` and the next backtick.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name.to_string())
}

/// Every backticked name after the first one, as serde lists expected values.
fn expected_names(message: &str) -> Vec<&str> {
    message.split('`').skip(3).step_by(2).collect()
}

fn missing_key(document: &Document, parent: &str, key: &str, context: &str) -> Diagnostic {
    let position = document.locate(parent, true);
    document.error_at(
        "missing-key",
        position,
        format!("{context} is missing the required key '{key}'"),
        Some(format!("add '{key}: ...' to {context}")),
    )
}

fn describe_error(
    document: &Document,
    base: &str,
    segments: &[Segment],
    message: &str,
    context: &str,
) -> Diagnostic {
    let pointer = pointer_of(base, segments);
    let key_name = segments.iter().rev().find_map(|s| match s {
        Segment::Key(key) => Some(key.as_str()),
        Segment::Index(_) => None,
    });

    if let Some(field) = quoted_after(message, "unknown field `") {
        let valid = expected_names(message);
        return document.error_at(
            "unknown-key",
            document.locate(&pointer, true),
            format!("unknown key '{field}' in {context}"),
            Some(suggestion_help(&field, &valid, "keys")),
        );
    }
    if let Some(variant) = quoted_after(message, "unknown variant `") {
        let valid = expected_names(message);
        let key = key_name.unwrap_or("value");
        return document.error_at(
            "invalid-value",
            document.locate(&pointer, false),
            format!("invalid value '{variant}' for '{key}' in {context}"),
            Some(suggestion_help(&variant, &valid, "values")),
        );
    }
    let what = match key_name {
        Some(key) => format!("invalid '{key}' in {context}"),
        None => format!("invalid {context}"),
    };
    let detail = message
        .strip_prefix("invalid type: ")
        .map(|rest| format!("found {rest}"));
    let (code, help) = if message.contains("duration") {
        (
            "invalid-duration",
            Some("write a duration with units, such as 90s, 15m or 1h30m".to_string()),
        )
    } else {
        ("invalid-type", None)
    };
    document.error_at(
        code,
        document.locate(&pointer, false),
        format!("{what}: {}", detail.as_deref().unwrap_or(message)),
        help,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StepDoc;

    fn decode(source: &str) -> (Option<StepDoc>, Vec<Diagnostic>) {
        let document = Document::parse("s.yaml", source).unwrap();
        decode_all::<StepDoc>(&document, "", &document.root.clone(), "step 'a'")
    }

    #[test]
    fn reports_every_error_in_one_node() {
        let (step, errors) =
            decode("id: a\nkind: aurora.snapshot\nneeds: x\nkidn: 1\ntimeout: 5 minutes\n");
        let step = step.expect("decoded without the bad keys");
        assert_eq!(step.timeout, None);
        let found: Vec<_> = errors.iter().map(|e| (e.code, e.line, e.col)).collect();
        assert_eq!(
            found,
            vec![
                ("invalid-type", Some(3), Some(8)),
                ("unknown-key", Some(4), Some(1)),
                ("invalid-duration", Some(5), Some(10)),
            ],
            "{errors:#?}"
        );
        assert_eq!(errors[1].message, "unknown key 'kidn' in step 'a'");
        assert!(
            errors[1]
                .help
                .as_deref()
                .unwrap()
                .starts_with("did you mean 'kind'?"),
            "{:?}",
            errors[1].help
        );
    }

    #[test]
    fn missing_required_key_points_at_the_node() {
        let (_, errors) = decode("kind: aurora.snapshot\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "step 'a' is missing the required key 'id'"
        );
    }

    #[test]
    fn removed_required_key_is_not_reported_twice() {
        let (_, errors) = decode("id: [1]\nkind: aurora.snapshot\n");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].code, "invalid-type");
    }

    #[test]
    fn unknown_enum_value_suggests() {
        let (_, errors) = decode("id: a\nkind: k\non_failure: abrot\n");
        assert_eq!(
            errors[0].message,
            "invalid value 'abrot' for 'on_failure' in step 'a'"
        );
        assert!(
            errors[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("did you mean 'abort'?")
        );
    }
}
