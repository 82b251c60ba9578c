//! Checking the `${{ }}` expressions of one step and the step's params.
//!
//! Params are checked in two passes. First every string is parsed and every
//! expression type-checked against the step's scope. Then each expression is
//! replaced by its value when it is known before the run (variables, regions)
//! or else by a stand-in of its static type, and the kind's `check` decodes
//! the result strictly and lists the step's effects. A string-typed stand-in
//! is a unique marker word, so that an effect id built from it can be turned
//! back into the original `${{ }}` text for the plan and the safety checks.

use std::collections::HashMap;
use std::ops::Range;

use crate::diagnostic::{Diagnostic, suggestion_help};
use crate::document::{Document, Position, escape_pointer};
use crate::expr::value::type_name;
use crate::expr::{Env, Part, Scope, Template, Value, type_of};
use crate::kinds::{KindInfo, PathSegment, ValueType};
use crate::model::PlannedEffect;

/// A string-typed stand-in for an expression whose value is known only at run time.
#[derive(Debug, Clone)]
pub struct Marker {
    /// The word placed in the params, such as `drctlexpr3q`.
    pub word: String,
    /// The expression as written, with its `${{ }}`.
    pub original: String,
    /// True when the expression reads `run.id` or a step output.
    pub run_scoped: bool,
}

/// The origin of a params value built from expressions.
#[derive(Debug, Clone, Copy)]
pub struct Substituted {
    pub ty: ValueType,
    /// True when every expression in the value had a value before the run.
    pub known: bool,
    /// True when an expression failed to parse or type-check and is already reported.
    pub failed: bool,
}

/// Expression checking for one step.
pub struct StepExpressions<'a> {
    pub document: &'a Document,
    pub scope: &'a dyn Scope,
    pub known: &'a dyn Env,
    pub diagnostics: Vec<Diagnostic>,
    pub markers: Vec<Marker>,
    /// Pointers whose value in the substituted params came from expressions,
    /// with the static type and whether the value is known before the run.
    pub substituted: HashMap<String, Substituted>,
}

impl<'a> StepExpressions<'a> {
    pub fn new(document: &'a Document, scope: &'a dyn Scope, known: &'a dyn Env) -> Self {
        StepExpressions {
            document,
            scope,
            known,
            diagnostics: Vec::new(),
            markers: Vec::new(),
            substituted: HashMap::new(),
        }
    }

    /// Parses and type-checks one string. Returns the template and the type
    /// of its value, or `None` after recording a diagnostic.
    pub fn check_string(&mut self, pointer: &str, text: &str) -> Option<(Template, ValueType)> {
        let template = match Template::parse(text) {
            Ok(template) => template,
            Err(error) => {
                let position =
                    expression_position(self.document, pointer, text, error.range.clone());
                self.diagnostics.push(self.document.error_at(
                    "expression-syntax",
                    position,
                    format!("invalid expression: {}", error.message),
                    Some("expressions look like ${{ vars.name == 'value' }}".to_string()),
                ));
                return None;
            }
        };
        let mut result = ValueType::String;
        for (expr, offset) in template.expressions() {
            match type_of(expr, self.scope) {
                Ok(ty) => {
                    if template.single_expression().is_some() {
                        result = ty;
                    }
                }
                Err(error) => {
                    let range = offset + error.span.start..offset + error.span.end;
                    let position = expression_position(self.document, pointer, text, range);
                    self.diagnostics.push(self.document.error_at(
                        "expression",
                        position,
                        error.message,
                        error.help,
                    ));
                    return None;
                }
            }
        }
        Some((template, result))
    }

    /// Checks a `when` string: exactly one expression of type bool.
    pub fn check_condition(&mut self, pointer: &str, text: &str) {
        let Some((template, ty)) = self.check_string(pointer, text) else {
            return;
        };
        if template.single_expression().is_none() {
            self.diagnostics.push(self.document.error_at(
                "expression",
                self.document.locate(pointer, false),
                format!("'when' must be exactly one ${{{{ }}}} expression, found '{text}'"),
                Some("write for example when: \"${{ run.mode == 'drill' }}\"".to_string()),
            ));
        } else if ty != ValueType::Bool {
            self.diagnostics.push(self.document.error_at(
                "expression-type",
                self.document.locate(pointer, false),
                format!("'when' must be a bool expression, found {}", type_name(ty)),
                Some("compare the value, for example ${{ vars.enabled == true }}".to_string()),
            ));
        }
    }

    /// Checks every string inside `value` and returns the value with each
    /// expression replaced by its known value or a typed stand-in.
    pub fn substitute(&mut self, pointer: &str, value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::String(text) => self.substitute_string(pointer, text),
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| self.substitute(&format!("{pointer}/{index}"), item))
                    .collect(),
            ),
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, item)| {
                        let child = format!("{pointer}/{}", escape_pointer(key));
                        (key.clone(), self.substitute(&child, item))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn substitute_string(&mut self, pointer: &str, text: &str) -> serde_json::Value {
        let Some((template, ty)) = self.check_string(pointer, text) else {
            // Already reported; the stand-in keeps the kind check from adding
            // a second error about the same value.
            self.substituted.insert(
                pointer.to_string(),
                Substituted { ty: ValueType::String, known: false, failed: true },
            );
            return serde_json::Value::String("x".to_string());
        };
        if template.is_literal() {
            return template
                .evaluate(self.known)
                .map(|v| v.to_json())
                .unwrap_or_default();
        }
        if let Some(expr) = template.single_expression() {
            if let Ok(value) = crate::expr::evaluate(expr, self.known) {
                self.substituted
                    .insert(pointer.to_string(), Substituted { ty, known: true, failed: false });
                return value.to_json();
            }
            self.substituted
                .insert(pointer.to_string(), Substituted { ty, known: false, failed: false });
            if ty == ValueType::String {
                return serde_json::Value::String(self.marker(&template.parts[0]));
            }
            return Value::placeholder(ty).to_json();
        }

        self.substituted.insert(
            pointer.to_string(),
            Substituted { ty: ValueType::String, known: true, failed: false },
        );
        let mut out = String::new();
        for part in &template.parts {
            match part {
                Part::Text(literal) => out.push_str(literal),
                Part::Expression { expr, .. } => match crate::expr::evaluate(expr, self.known) {
                    Ok(value) => out.push_str(&value.to_text()),
                    Err(_) => {
                        self.substituted.insert(
                            pointer.to_string(),
                            Substituted { ty: ValueType::String, known: false, failed: false },
                        );
                        let word = self.marker(part);
                        out.push_str(&word);
                    }
                },
            }
        }
        serde_json::Value::String(out)
    }

    fn marker(&mut self, part: &Part) -> String {
        let Part::Expression { expr, source, .. } = part else {
            return String::new();
        };
        let mut run_scoped = false;
        expr.for_each_reference(&mut |path, _| {
            let head: Vec<&str> = path.iter().take(2).map(String::as_str).collect();
            if head == ["run", "id"] || head.first() == Some(&"steps") {
                run_scoped = true;
            }
        });
        let word = format!("drctlexpr{}q", self.markers.len());
        self.markers.push(Marker {
            word: word.clone(),
            original: format!("${{{{{source}}}}}"),
            run_scoped,
        });
        word
    }

    /// Runs the kind's strict params check on substituted params, reporting
    /// every error. Returns the effects when the params are valid.
    pub fn check_params(
        &mut self,
        kind: &KindInfo,
        params_pointer: &str,
        params: serde_json::Value,
        step_id: &str,
    ) -> Option<Vec<PlannedEffect>> {
        let mut scratch = params;
        let mut removed: Vec<String> = Vec::new();
        let mut failed = false;
        let context = format!("step '{step_id}' (kind '{}')", kind.name);

        loop {
            let error = match (kind.check)(&scratch) {
                Ok(effects) if !failed => {
                    return Some(effects.into_iter().map(|e| self.plan_effect(e)).collect());
                }
                Ok(_) => return None,
                Err(error) => error,
            };
            let pointer = param_pointer(params_pointer, &error.path);
            let message = self.restore_markers(&error.message);

            if let Some(missing) = &error.missing_field {
                let missing_pointer = format!("{pointer}/{}", escape_pointer(missing));
                if !removed.contains(&missing_pointer) {
                    self.diagnostics.push(self.document.error_at(
                        "missing-param",
                        self.document.locate(&pointer, true),
                        format!("{context} is missing the required param '{missing}'"),
                        Some(format!("add '{missing}: ...' under params; see the example for '{}' in docs/playbook.md", kind.name)),
                    ));
                }
                return None;
            }

            match (&error.unknown_field, self.substituted.get(&pointer).copied()) {
                // The expression's own error is reported already.
                (None, Some(substituted)) if substituted.failed => {}
                (Some((field, valid)), _) => {
                    let valid: Vec<&str> = valid.iter().map(String::as_str).collect();
                    failed = true;
                    self.diagnostics.push(self.document.error_at(
                        "unknown-param",
                        self.document.locate(&pointer, true),
                        format!("unknown param '{field}' for {context}"),
                        Some(suggestion_help(field, &valid, "params")),
                    ));
                }
                (None, Some(substituted)) if message.starts_with("invalid type") => {
                    failed = true;
                    self.diagnostics.push(
                        self.document.error_at(
                            "expression-type",
                            self.document.locate(&pointer, false),
                            format!(
                                "expression of type {} does not fit param '{}' of {context}: {}",
                                type_name(substituted.ty),
                                last_key(&error.path),
                                message
                            ),
                            Some(
                                "change the expression or the variable's type to match the param"
                                    .to_string(),
                            ),
                        ),
                    );
                }
                // The value depends on the run; its content is checked when
                // the step runs, so only its type is checked here.
                (None, Some(substituted)) if !substituted.known => {}
                (None, _) => {
                    failed = true;
                    self.diagnostics.push(self.document.error_at(
                        if message.contains("duration") {
                            "invalid-duration"
                        } else {
                            "invalid-param"
                        },
                        self.document.locate(&pointer, false),
                        format!(
                            "invalid param '{}' for {context}: {message}",
                            last_key(&error.path)
                        ),
                        None,
                    ));
                }
            }

            // Drop the key the error is about and check again, so every
            // error is reported; an error without a key ends the checks.
            let key_index = error.path.iter().rposition(|s| matches!(s, PathSegment::Key(_)))?;
            if !remove_param(&mut scratch, &error.path[..=key_index]) {
                return None;
            }
            removed.push(param_pointer(params_pointer, &error.path[..=key_index]));
        }
    }

    /// Replaces marker words in `text` with the expressions they stand for.
    fn restore_markers(&self, text: &str) -> String {
        let mut text = text.to_string();
        for marker in &self.markers {
            text = text.replace(&marker.word, &marker.original);
        }
        text
    }

    fn plan_effect(&self, effect: crate::kinds::Effect) -> PlannedEffect {
        let mut run_scoped = false;
        let mut restore = |text: &str| {
            let mut text = text.to_string();
            for marker in &self.markers {
                if text.contains(&marker.word) {
                    run_scoped |= marker.run_scoped;
                    text = text.replace(&marker.word, &marker.original);
                }
            }
            text
        };
        let id = restore(&effect.id);
        let region = effect.region.as_deref().map(&mut restore);
        PlannedEffect {
            action: effect.action,
            resource_type: effect.resource_type.to_string(),
            id,
            region,
            owned_only: effect.owned_only,
            run_scoped,
        }
    }
}

fn last_key(path: &[PathSegment]) -> String {
    path.iter()
        .rev()
        .find_map(|s| match s {
            PathSegment::Key(key) => Some(key.clone()),
            PathSegment::Index(_) => None,
        })
        .unwrap_or_else(|| "params".to_string())
}

fn param_pointer(base: &str, path: &[PathSegment]) -> String {
    let mut pointer = base.to_string();
    for segment in path {
        pointer.push('/');
        match segment {
            PathSegment::Key(key) => pointer.push_str(&escape_pointer(key)),
            PathSegment::Index(index) => pointer.push_str(&index.to_string()),
        }
    }
    pointer
}

fn remove_param(value: &mut serde_json::Value, path: &[PathSegment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = value;
    for segment in parents {
        let next = match (segment, current) {
            (PathSegment::Key(key), serde_json::Value::Object(map)) => map.get_mut(key),
            (PathSegment::Index(index), serde_json::Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(child) => current = child,
            None => return false,
        }
    }
    match (last, current) {
        (PathSegment::Key(key), serde_json::Value::Object(map)) => map.shift_remove(key).is_some(),
        _ => false,
    }
}

/// Finds the position of `range` (bytes in the string value at `pointer`) in
/// the source. The result is exact for strings on one line, plain or quoted
/// without escapes. Otherwise it is the position of the whole value.
pub fn expression_position(
    document: &Document,
    pointer: &str,
    text: &str,
    range: Range<usize>,
) -> Position {
    let whole = document.locate(pointer, false);
    let Some(line) = document.source.lines().nth(whole.line.saturating_sub(1)) else {
        return whole;
    };
    let from_value: String = line.chars().skip(whole.col.saturating_sub(1)).collect();
    let quote = usize::from(from_value.starts_with('\'') || from_value.starts_with('"'));
    let start = range.start.min(text.len());
    let end = range.end.clamp(start, text.len());
    let (Some(prefix), Some(covered)) = (text.get(..end), text.get(start..end)) else {
        return whole;
    };
    if !from_value
        .chars()
        .skip(quote)
        .collect::<String>()
        .starts_with(prefix)
    {
        return whole;
    }
    let before = text.get(..start).map(|s| s.chars().count()).unwrap_or(0);
    Position {
        line: whole.line,
        col: whole.col + quote + before,
        width: covered.chars().count().max(1),
    }
}
