//! The YAML source of a playbook as JSON, with the position of every node.
//!
//! The loader parses YAML with saphyr's span-carrying nodes, converts the tree
//! to a `serde_json::Value`, and records where each node came from under its
//! JSON Pointer (`/steps/2/kind`). Typed decoding then runs on the JSON with
//! `serde_path_to_error`, and the path of any error is looked up here to point
//! at the line and column in the file. Working on JSON keeps one decoding path
//! for YAML playbooks, JSON vars files and the JSON Schema.

use std::collections::HashMap;

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

use crate::diagnostic::{Diagnostic, Severity};

/// Maximum nesting of mappings and sequences. Playbooks need fewer than ten
/// levels; the limit keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;
/// Indentation (plus block indicators) beyond which a line cannot belong to a
/// document within `MAX_DEPTH`, even at eight columns per level.
const MAX_INDENT_COLUMNS: usize = MAX_DEPTH * 8;

/// The 1-based line with the widest run of leading spaces and block
/// indicators (`- `, `? `, `: `), and that width.
fn deepest_line(source: &str) -> Option<(usize, usize)> {
    source
        .lines()
        .enumerate()
        .map(|(index, line)| {
            let bytes = line.as_bytes();
            let mut width = 0;
            while width < bytes.len() {
                match bytes[width] {
                    b' ' => width += 1,
                    b'-' | b'?' | b':' if bytes.get(width + 1) == Some(&b' ') => width += 2,
                    _ => break,
                }
            }
            (index + 1, width)
        })
        .max_by_key(|(_, width)| *width)
}

/// A position range in the source, 1-based line and column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub col: usize,
    /// Characters to underline, limited to the first line of the node.
    pub width: usize,
}

/// Where one node of the tree sits in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeSpan {
    /// The mapping key that introduced the node, when the node is a mapping value.
    pub key: Option<Position>,
    pub value: Position,
}

/// A parsed YAML or JSON source with node positions.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: String,
    pub source: String,
    pub root: serde_json::Value,
    spans: HashMap<String, NodeSpan>,
}

impl Document {
    /// Parses `source`, which must hold exactly one YAML document whose root is
    /// a mapping. JSON is valid YAML, so vars files may be either.
    pub fn parse(file: &str, source: &str) -> Result<Document, Diagnostic> {
        let mut document = Document {
            file: file.to_string(),
            source: source.to_string(),
            root: serde_json::Value::Null,
            spans: HashMap::new(),
        };

        // The YAML parser builds its tree recursively, so block nesting deep
        // enough to overflow the stack is rejected before parsing. Every block
        // level needs one more column of indentation or one more `- `, `? ` or
        // `: ` on its line, so this bound is a safe over-estimate of depth.
        if let Some((line, width)) = deepest_line(source).filter(|(_, width)| *width > MAX_INDENT_COLUMNS) {
            let position = Position { line, col: 1, width: 1 };
            return Err(document.error_at(
                "too-deep",
                position,
                format!("line {line} is indented {width} columns; playbooks nest at most {MAX_DEPTH} levels"),
                Some("flatten the structure; a playbook never needs this much nesting".to_string()),
            ));
        }

        let nodes = match MarkedYamlOwned::load_from_str(source) {
            Ok(nodes) => nodes,
            Err(error) => {
                let marker = error.marker();
                let position = Position {
                    line: marker.line().max(1),
                    col: marker.col() + 1,
                    width: 1,
                };
                return Err(document.error_at(
                    "yaml-syntax",
                    position,
                    format!("invalid YAML: {}", error.info()),
                    Some(
                        "fix the YAML syntax at this position; indentation must use spaces"
                            .to_string(),
                    ),
                ));
            }
        };
        let mut nodes = nodes.into_iter();
        let Some(root) = nodes.next() else {
            return Err(Diagnostic::unlocated(
                Severity::Error,
                "yaml-syntax",
                file,
                "the file is empty",
            )
            .with_help("a playbook starts with 'version: 1'"));
        };
        if let Some(extra) = nodes.next() {
            let position = document.position_of(&extra);
            return Err(document.error_at(
                "yaml-syntax",
                position,
                "the file holds more than one YAML document".to_string(),
                Some("remove the '---' separator: one file holds one playbook".to_string()),
            ));
        }
        if !matches!(root.data, YamlDataOwned::Mapping(_)) {
            let position = document.position_of(&root);
            return Err(document.error_at(
                "yaml-syntax",
                position,
                "the top level must be a mapping of keys to values".to_string(),
                Some("write 'key: value' lines, such as 'version: 1' in a playbook".to_string()),
            ));
        }
        let root_span = document.position_of(&root);
        document.spans.insert(
            String::new(),
            NodeSpan {
                key: None,
                value: root_span,
            },
        );
        document.root = document.convert(&root, String::new(), 0)?;
        Ok(document)
    }

    /// The span recorded for a JSON Pointer.
    pub fn span(&self, pointer: &str) -> Option<NodeSpan> {
        self.spans.get(pointer).copied()
    }

    /// The position of the node at `pointer`, or of its closest recorded
    /// ancestor. `prefer_key` points at the mapping key instead of the value,
    /// which reads better for unknown keys.
    pub fn locate(&self, pointer: &str, prefer_key: bool) -> Position {
        let mut current = pointer;
        loop {
            if let Some(span) = self.spans.get(current) {
                return match (prefer_key, span.key) {
                    (true, Some(key)) => key,
                    _ => span.value,
                };
            }
            match current.rfind('/') {
                Some(slash) => current = &current[..slash],
                None => {
                    return Position {
                        line: 1,
                        col: 1,
                        width: 1,
                    };
                }
            }
        }
    }

    /// Builds a diagnostic at `position`, with the source line.
    pub fn error_at(
        &self,
        code: &'static str,
        position: Position,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        self.diagnostic(Severity::Error, code, position, message, help)
    }

    /// Builds a diagnostic of any severity at `position`, with the source line.
    pub fn diagnostic(
        &self,
        severity: Severity,
        code: &'static str,
        position: Position,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            file: self.file.clone(),
            line: Some(position.line),
            col: Some(position.col),
            width: position.width.max(1),
            message,
            help,
            source_line: self
                .source
                .lines()
                .nth(position.line.saturating_sub(1))
                .map(str::to_string),
        }
    }

    fn position_of(&self, node: &MarkedYamlOwned) -> Position {
        let start = node.span.start;
        let end = node.span.end;
        let width = if end.line() == start.line() && end.col() > start.col() {
            end.col() - start.col()
        } else {
            // Multi-line nodes: underline the rest of the first line.
            self.source
                .lines()
                .nth(start.line().saturating_sub(1))
                .map(|line| line.chars().count().saturating_sub(start.col()))
                .unwrap_or(1)
        };
        Position {
            line: start.line().max(1),
            col: start.col() + 1,
            width: width.max(1),
        }
    }

    fn convert(
        &mut self,
        node: &MarkedYamlOwned,
        pointer: String,
        depth: usize,
    ) -> Result<serde_json::Value, Diagnostic> {
        if depth > MAX_DEPTH {
            let position = self.position_of(node);
            return Err(self.error_at(
                "yaml-syntax",
                position,
                format!("the document nests deeper than {MAX_DEPTH} levels"),
                None,
            ));
        }
        match &node.data {
            YamlDataOwned::Value(scalar) => self.convert_scalar(node, scalar),
            YamlDataOwned::Representation(text, ..) => Ok(serde_json::Value::String(text.clone())),
            YamlDataOwned::Tagged(_, inner) => self.convert(inner, pointer, depth + 1),
            YamlDataOwned::Sequence(items) => {
                let mut array = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let child = format!("{pointer}/{index}");
                    let value = self.position_of(item);
                    self.spans
                        .insert(child.clone(), NodeSpan { key: None, value });
                    array.push(self.convert(item, child, depth + 1)?);
                }
                Ok(serde_json::Value::Array(array))
            }
            YamlDataOwned::Mapping(mapping) => {
                let mut object = serde_json::Map::new();
                for (key, value) in mapping.iter() {
                    let key_position = self.position_of(key);
                    let name = match &key.data {
                        YamlDataOwned::Value(ScalarOwned::String(text)) => text.clone(),
                        YamlDataOwned::Value(ScalarOwned::Integer(n)) => n.to_string(),
                        YamlDataOwned::Value(ScalarOwned::Boolean(b)) => b.to_string(),
                        _ => {
                            return Err(self.error_at(
                                "yaml-syntax",
                                key_position,
                                "mapping keys must be plain strings".to_string(),
                                Some("write the key as a simple word such as 'name'".to_string()),
                            ));
                        }
                    };
                    let child = format!("{pointer}/{}", escape_pointer(&name));
                    let value_position = self.position_of(value);
                    // A key with no value (`key:`) has an empty span at the
                    // key's line; point at the key itself then.
                    let value_position =
                        if matches!(value.data, YamlDataOwned::Value(ScalarOwned::Null)) {
                            key_position
                        } else {
                            value_position
                        };
                    self.spans.insert(
                        child.clone(),
                        NodeSpan {
                            key: Some(key_position),
                            value: value_position,
                        },
                    );
                    let converted = self.convert(value, child, depth + 1)?;
                    object.insert(name, converted);
                }
                Ok(serde_json::Value::Object(object))
            }
            YamlDataOwned::Alias(_) | YamlDataOwned::BadValue => {
                let position = self.position_of(node);
                Err(self.error_at(
                    "yaml-syntax",
                    position,
                    "invalid YAML value (an unresolved alias or a value that does not match its tag)".to_string(),
                    None,
                ))
            }
        }
    }

    fn convert_scalar(
        &self,
        node: &MarkedYamlOwned,
        scalar: &ScalarOwned,
    ) -> Result<serde_json::Value, Diagnostic> {
        Ok(match scalar {
            ScalarOwned::Null => serde_json::Value::Null,
            ScalarOwned::Boolean(b) => serde_json::Value::Bool(*b),
            ScalarOwned::Integer(n) => serde_json::Value::from(*n),
            ScalarOwned::FloatingPoint(f) => match serde_json::Number::from_f64(f.into_inner()) {
                Some(number) => serde_json::Value::Number(number),
                None => {
                    let position = self.position_of(node);
                    return Err(self.error_at(
                        "yaml-syntax",
                        position,
                        "infinite and NaN numbers are not supported".to_string(),
                        Some("quote the value if it is meant as text".to_string()),
                    ));
                }
            },
            ScalarOwned::String(text) => serde_json::Value::String(text.clone()),
        })
    }
}

/// Escapes a key for use in a JSON Pointer (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "version: 1\nsteps:\n  - id: a\n    kind: aurora.snapshot\n    params: { cluster: \"x\" }\n";

    #[test]
    fn records_positions_of_keys_and_values() {
        let document = Document::parse("p.yaml", SOURCE).unwrap();
        let kind = document.span("/steps/0/kind").unwrap();
        assert_eq!(
            kind.value,
            Position {
                line: 4,
                col: 11,
                width: 15
            }
        );
        assert_eq!(
            kind.key,
            Some(Position {
                line: 4,
                col: 5,
                width: 4
            })
        );
        let cluster = document.span("/steps/0/params/cluster").unwrap();
        assert_eq!((cluster.value.line, cluster.value.col), (5, 24));
    }

    #[test]
    fn locate_falls_back_to_the_parent() {
        let document = Document::parse("p.yaml", SOURCE).unwrap();
        let position = document.locate("/steps/0/params/missing", false);
        assert_eq!((position.line, position.col), (5, 13));
    }

    #[test]
    fn syntax_error_is_located() {
        let error = Document::parse("p.yaml", "version: 1\nname: [a, b\n").unwrap_err();
        assert_eq!(error.code, "yaml-syntax");
        assert!(error.line.is_some());
        assert!(
            error.message.starts_with("invalid YAML"),
            "{}",
            error.message
        );
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let error = Document::parse("p.yaml", "name: a\nname: b\n").unwrap_err();
        assert!(
            error.message.contains("duplicated key"),
            "{}",
            error.message
        );
        assert_eq!(error.line, Some(2));
    }
}
