//! Strings with embedded `${{ expr }}` expressions.
//!
//! A string that is exactly one expression evaluates to the expression's typed
//! value, so `"${{ vars.min_acu }}"` becomes the number 0.5. Any other string
//! with expressions is interpolation and evaluates to a string. Write `$${{`
//! for a literal `${{`.

use std::ops::Range;

use super::ast::Expr;
use super::eval::{Env, EvalError, evaluate};
use super::parser::{SyntaxError, parse};
use super::value::Value;

/// A parsed string: literal text and expressions in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Expression {
        expr: Expr,
        /// The text between `${{` and `}}`, untrimmed.
        source: String,
        /// Byte offset of `source` inside the whole string, to locate errors.
        offset: usize,
    },
}

/// A syntax error, located by byte range inside the whole string.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub message: String,
    pub range: Range<usize>,
}

impl Template {
    /// Parses every `${{ }}` in `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut consumed = 0;

        while let Some(found) = rest.find("${{") {
            // `$${{` is an escaped, literal `${{`.
            if found > 0 && rest.as_bytes()[found - 1] == b'$' {
                literal.push_str(&rest[..found - 1]);
                literal.push_str("${{");
                rest = &rest[found + 3..];
                consumed += found + 3;
                continue;
            }
            literal.push_str(&rest[..found]);
            let start = consumed + found + 3;
            let after = &rest[found + 3..];
            let Some(close) = after.find("}}") else {
                return Err(TemplateError {
                    message: "'${{' has no closing '}}'".to_string(),
                    range: consumed + found..text.len(),
                });
            };
            let source = &after[..close];
            let expr = parse(source).map_err(|SyntaxError { message, span }| TemplateError {
                message,
                range: start + span.start..start + span.end.max(span.start + 1),
            })?;
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Expression {
                expr,
                source: source.to_string(),
                offset: start,
            });
            rest = &after[close + 2..];
            consumed = start + close + 2;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// True when the string contains no expression.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|part| matches!(part, Part::Text(_)))
    }

    /// The expression, when the whole string is exactly one expression.
    pub fn single_expression(&self) -> Option<&Expr> {
        match self.parts.as_slice() {
            [Part::Expression { expr, .. }] => Some(expr),
            _ => None,
        }
    }

    /// Every expression with its byte offset in the whole string.
    pub fn expressions(&self) -> impl Iterator<Item = (&Expr, usize)> {
        self.parts.iter().filter_map(|part| match part {
            Part::Expression { expr, offset, .. } => Some((expr, *offset)),
            Part::Text(_) => None,
        })
    }

    /// Evaluates to a typed value (one expression) or an interpolated string.
    pub fn evaluate(&self, env: &dyn Env) -> Result<Value, EvalError> {
        if let Some(expr) = self.single_expression() {
            return evaluate(expr, env);
        }
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Text(literal) => text.push_str(literal),
                Part::Expression { expr, .. } => text.push_str(&evaluate(expr, env)?.to_text()),
            }
        }
        Ok(Value::String(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars;

    impl Env for Vars {
        fn lookup(&self, path: &[String]) -> Option<Value> {
            match path.join(".").as_str() {
                "vars.min_acu" => Some(Value::Number(0.5)),
                "run.id" => Some(Value::String("r1".into())),
                _ => None,
            }
        }
    }

    #[test]
    fn single_expression_keeps_its_type() {
        let template = Template::parse("${{ vars.min_acu }}").unwrap();
        assert_eq!(template.evaluate(&Vars), Ok(Value::Number(0.5)));
    }

    #[test]
    fn mixed_text_interpolates() {
        let template = Template::parse("drill-${{ run.id }}-acu-${{ vars.min_acu }}").unwrap();
        assert_eq!(
            template.evaluate(&Vars),
            Ok(Value::String("drill-r1-acu-0.5".into()))
        );
    }

    #[test]
    fn escaped_marker_stays_literal() {
        let template = Template::parse("cost $${{ not an expression").unwrap();
        assert!(template.is_literal());
        assert_eq!(
            template.evaluate(&Vars),
            Ok(Value::String("cost ${{ not an expression".into()))
        );
    }

    #[test]
    fn errors_are_located_in_the_whole_string() {
        let error = Template::parse("id-${{ run.id ==}}").unwrap_err();
        assert_eq!(error.message, "expression ends where a value was expected");
        assert_eq!(error.range, 16..17);
        let error = Template::parse("a ${{ run.id").unwrap_err();
        assert_eq!(error.range, 2..12);
    }
}
