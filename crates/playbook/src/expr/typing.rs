//! Static type checking of expressions.
//!
//! The checker walks the tree once and stops at the first error, because a
//! later error in the same expression is usually a consequence of the first.

use super::ast::{BinaryOp, Expr, Literal, Span, UnaryOp};
use super::value::type_name;
use crate::kinds::ValueType;

/// Resolves the names an expression may use to their static types.
pub trait Scope {
    /// The type of the value named by `path` (for example `["vars", "min_acu"]`).
    fn type_of(&self, path: &[String]) -> Result<ValueType, NameError>;
}

/// A name that the scope cannot resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct NameError {
    pub message: String,
    pub help: Option<String>,
}

/// A type or name error, located by byte range in the expression source.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    pub message: String,
    pub help: Option<String>,
    pub span: Span,
}

/// Computes the type of `expr`, or the first error in it.
pub fn type_of(expr: &Expr, scope: &dyn Scope) -> Result<ValueType, TypeError> {
    match expr {
        Expr::Literal(literal, _) => Ok(match literal {
            Literal::String(_) => ValueType::String,
            Literal::Int(_) => ValueType::Int,
            Literal::Number(_) => ValueType::Number,
            Literal::Bool(_) => ValueType::Bool,
            Literal::Duration(_) => ValueType::Duration,
        }),
        Expr::Reference(path, span) => scope.type_of(path).map_err(|error| TypeError {
            message: error.message,
            help: error.help,
            span: span.clone(),
        }),
        Expr::Unary(op, operand, span) => {
            let ty = type_of(operand, scope)?;
            match (op, ty) {
                (UnaryOp::Not, ValueType::Bool) => Ok(ValueType::Bool),
                (UnaryOp::Negate, ValueType::Int | ValueType::Number) => Ok(ty),
                (UnaryOp::Not, _) => Err(mismatch(
                    span,
                    format!("'!' needs a bool, found {}", type_name(ty)),
                )),
                (UnaryOp::Negate, _) => Err(mismatch(
                    span,
                    format!("'-' needs an int or a number, found {}", type_name(ty)),
                )),
            }
        }
        Expr::Binary(op, left, right, span) => {
            let left_ty = type_of(left, scope)?;
            let right_ty = type_of(right, scope)?;
            binary_result(*op, left_ty, right_ty).ok_or_else(|| {
                mismatch(
                    span,
                    format!(
                        "operator '{}' cannot combine {} and {}",
                        op.symbol(),
                        type_name(left_ty),
                        type_name(right_ty)
                    ),
                )
            })
        }
    }
}

fn mismatch(span: &Span, message: String) -> TypeError {
    TypeError {
        message,
        help: None,
        span: span.clone(),
    }
}

fn is_numeric(ty: ValueType) -> bool {
    matches!(ty, ValueType::Int | ValueType::Number)
}

/// The result type of `left op right`, or `None` when the operator does not
/// apply to these operand types. The evaluator follows the same table.
pub fn binary_result(op: BinaryOp, left: ValueType, right: ValueType) -> Option<ValueType> {
    use ValueType::*;
    match op {
        BinaryOp::Or | BinaryOp::And => (left == Bool && right == Bool).then_some(Bool),
        BinaryOp::Equal | BinaryOp::NotEqual => {
            (left == right || (is_numeric(left) && is_numeric(right))).then_some(Bool)
        }
        BinaryOp::Less | BinaryOp::LessEqual | BinaryOp::Greater | BinaryOp::GreaterEqual => {
            let ordered = (is_numeric(left) && is_numeric(right))
                || (left == right && matches!(left, Duration | Timestamp | String));
            ordered.then_some(Bool)
        }
        BinaryOp::Add => match (left, right) {
            (Int, Int) => Some(Int),
            (l, r) if is_numeric(l) && is_numeric(r) => Some(Number),
            (Duration, Duration) => Some(Duration),
            (Timestamp, Duration) | (Duration, Timestamp) => Some(Timestamp),
            _ => None,
        },
        BinaryOp::Subtract => match (left, right) {
            (Int, Int) => Some(Int),
            (l, r) if is_numeric(l) && is_numeric(r) => Some(Number),
            (Duration, Duration) => Some(Duration),
            (Timestamp, Duration) => Some(Timestamp),
            (Timestamp, Timestamp) => Some(Duration),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parser::parse;

    struct TestScope;

    impl Scope for TestScope {
        fn type_of(&self, path: &[String]) -> Result<ValueType, NameError> {
            match path.join(".").as_str() {
                "run.mode" => Ok(ValueType::String),
                "run.started_at" => Ok(ValueType::Timestamp),
                "vars.min_acu" => Ok(ValueType::Number),
                "vars.count" => Ok(ValueType::Int),
                other => Err(NameError {
                    message: format!("unknown name '{other}'"),
                    help: None,
                }),
            }
        }
    }

    fn check(source: &str) -> Result<ValueType, TypeError> {
        type_of(&parse(source).unwrap(), &TestScope)
    }

    #[test]
    fn well_typed_expressions() {
        let cases = [
            ("run.mode == 'drill'", ValueType::Bool),
            ("run.started_at - 15m", ValueType::Timestamp),
            ("5m + run.started_at", ValueType::Timestamp),
            ("vars.min_acu + vars.count", ValueType::Number),
            ("vars.count + 1", ValueType::Int),
            (
                "vars.count > 0.5 && !(run.mode != 'incident')",
                ValueType::Bool,
            ),
            ("run.started_at - run.started_at", ValueType::Duration),
            ("-vars.count", ValueType::Int),
        ];
        for (source, expected) in cases {
            assert_eq!(check(source), Ok(expected), "{source}");
        }
    }

    #[test]
    fn mismatches_name_both_types() {
        let cases = [
            (
                "run.mode == 3",
                "operator '==' cannot combine string and int",
                0..13,
            ),
            (
                "run.mode && true",
                "operator '&&' cannot combine string and bool",
                0..16,
            ),
            ("!vars.count", "'!' needs a bool, found int", 0..11),
            (
                "5m - run.started_at",
                "operator '-' cannot combine duration and timestamp",
                0..19,
            ),
            ("vars.nope", "unknown name 'vars.nope'", 0..9),
        ];
        for (source, message, span) in cases {
            let error = check(source).unwrap_err();
            assert_eq!(error.message, message, "{source}");
            assert_eq!(error.span, span, "{source}");
        }
    }
}
