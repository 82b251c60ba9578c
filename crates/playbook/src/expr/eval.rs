//! Evaluation of type-checked expressions.
//!
//! Evaluation follows the table in [`super::typing::binary_result`]. The
//! loader checks every expression before a run, so a type error here means the
//! environment returned a value of another type than declared (for example an
//! action that recorded a number for an output declared as a string).

use chrono::TimeDelta;

use super::ast::{BinaryOp, Expr, Literal, UnaryOp};
use super::value::{Value, type_name};

/// Supplies the values of names during evaluation.
pub trait Env {
    /// The value named by `path`, or `None` when it has no value (yet).
    fn lookup(&self, path: &[String]) -> Option<Value>;
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A name has no value in this environment, for example the output of a
    /// step that was skipped.
    #[error("'{name}' has no value: {reason}")]
    Unavailable { name: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// Evaluates `expr` in `env`.
pub fn evaluate(expr: &Expr, env: &dyn Env) -> Result<Value, EvalError> {
    match expr {
        Expr::Literal(literal, _) => Ok(match literal {
            Literal::String(text) => Value::String(text.clone()),
            Literal::Int(n) => Value::Int(*n),
            Literal::Number(n) => Value::Number(*n),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Duration(d) => Value::Duration(*d),
        }),
        Expr::Reference(path, _) => env.lookup(path).ok_or_else(|| EvalError::Unavailable {
            name: path.join("."),
            reason: "the value is not known at this point of the run".to_string(),
        }),
        Expr::Unary(op, operand, _) => {
            let value = evaluate(operand, env)?;
            match (op, value) {
                (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                (UnaryOp::Negate, Value::Int(n)) => n
                    .checked_neg()
                    .map(Value::Int)
                    .ok_or_else(|| EvalError::Invalid(format!("-({n}) overflows a 64-bit int"))),
                (UnaryOp::Negate, Value::Number(n)) => Ok(Value::Number(-n)),
                (op, value) => Err(EvalError::Invalid(format!(
                    "operator {op:?} cannot apply to {}",
                    type_name(value.value_type())
                ))),
            }
        }
        Expr::Binary(BinaryOp::And, left, right, _) => {
            // Short-circuit, so `steps.x.outputs.y` on the right is only
            // needed when the left side is true.
            match evaluate(left, env)? {
                Value::Bool(false) => Ok(Value::Bool(false)),
                Value::Bool(true) => expect_bool(evaluate(right, env)?),
                other => expect_bool(other),
            }
        }
        Expr::Binary(BinaryOp::Or, left, right, _) => match evaluate(left, env)? {
            Value::Bool(true) => Ok(Value::Bool(true)),
            Value::Bool(false) => expect_bool(evaluate(right, env)?),
            other => expect_bool(other),
        },
        Expr::Binary(op, left, right, _) => {
            let left = evaluate(left, env)?;
            let right = evaluate(right, env)?;
            apply(*op, left, right)
        }
    }
}

fn expect_bool(value: Value) -> Result<Value, EvalError> {
    match value {
        Value::Bool(_) => Ok(value),
        other => Err(EvalError::Invalid(format!(
            "expected a bool, found {}",
            type_name(other.value_type())
        ))),
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

fn apply(op: BinaryOp, left: Value, right: Value) -> Result<Value, EvalError> {
    use std::cmp::Ordering;

    let ordering: Option<Ordering> = match (&left, &right) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Duration(a), Value::Duration(b)) => Some(a.cmp(b)),
        (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
        (a, b) => match (as_number(a), as_number(b)) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => None,
        },
    };
    let invalid = |left: &Value, right: &Value| {
        EvalError::Invalid(format!(
            "operator '{}' cannot combine {} and {}",
            op.symbol(),
            type_name(left.value_type()),
            type_name(right.value_type())
        ))
    };

    match op {
        BinaryOp::Equal | BinaryOp::NotEqual => {
            let same_type = left.value_type() == right.value_type()
                || (as_number(&left).is_some() && as_number(&right).is_some());
            if !same_type {
                return Err(invalid(&left, &right));
            }
            let equal = ordering == Some(Ordering::Equal);
            Ok(Value::Bool(if op == BinaryOp::Equal {
                equal
            } else {
                !equal
            }))
        }
        BinaryOp::Less | BinaryOp::LessEqual | BinaryOp::Greater | BinaryOp::GreaterEqual => {
            if matches!(left, Value::Bool(_)) {
                return Err(invalid(&left, &right));
            }
            let Some(ordering) = ordering else {
                return Err(invalid(&left, &right));
            };
            Ok(Value::Bool(match op {
                BinaryOp::Less => ordering == Ordering::Less,
                BinaryOp::LessEqual => ordering != Ordering::Greater,
                BinaryOp::Greater => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            }))
        }
        BinaryOp::Add | BinaryOp::Subtract => arithmetic(op, left, right),
        BinaryOp::And | BinaryOp::Or => unreachable!("handled with short-circuit above"),
    }
}

fn arithmetic(op: BinaryOp, left: Value, right: Value) -> Result<Value, EvalError> {
    let add = op == BinaryOp::Add;
    let overflow = || EvalError::Invalid(format!("operator '{}' overflows", op.symbol()));
    let delta = |d: std::time::Duration| TimeDelta::from_std(d).map_err(|_| overflow());

    match (left, right) {
        (Value::Int(a), Value::Int(b)) => {
            let result = if add {
                a.checked_add(b)
            } else {
                a.checked_sub(b)
            };
            result.map(Value::Int).ok_or_else(overflow)
        }
        (Value::Duration(a), Value::Duration(b)) => {
            let result = if add {
                a.checked_add(b)
            } else {
                a.checked_sub(b)
            };
            result.map(Value::Duration).ok_or_else(|| {
                EvalError::Invalid("duration subtraction is negative or overflows".to_string())
            })
        }
        (Value::Timestamp(t), Value::Duration(d)) => {
            let d = delta(d)?;
            let result = if add {
                t.checked_add_signed(d)
            } else {
                t.checked_sub_signed(d)
            };
            result.map(Value::Timestamp).ok_or_else(overflow)
        }
        (Value::Duration(d), Value::Timestamp(t)) if add => t
            .checked_add_signed(delta(d)?)
            .map(Value::Timestamp)
            .ok_or_else(overflow),
        (Value::Timestamp(a), Value::Timestamp(b)) if !add => {
            (a - b).to_std().map(Value::Duration).map_err(|_| {
                EvalError::Invalid(format!(
                    "timestamp {a} is earlier than {b}, so the difference is a negative duration"
                ))
            })
        }
        (left, right) => match (as_number(&left), as_number(&right)) {
            (Some(a), Some(b)) => Ok(Value::Number(if add { a + b } else { a - b })),
            _ => Err(EvalError::Invalid(format!(
                "operator '{}' cannot combine {} and {}",
                op.symbol(),
                type_name(left.value_type()),
                type_name(right.value_type())
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parser::parse;
    use chrono::{DateTime, Utc};

    struct TestEnv;

    impl Env for TestEnv {
        fn lookup(&self, path: &[String]) -> Option<Value> {
            match path.join(".").as_str() {
                "run.mode" => Some(Value::String("drill".into())),
                "run.started_at" => Some(Value::Timestamp(
                    DateTime::parse_from_rfc3339("2026-12-04T03:10:00Z")
                        .unwrap()
                        .with_timezone(&Utc),
                )),
                "vars.count" => Some(Value::Int(2)),
                _ => None,
            }
        }
    }

    fn eval(source: &str) -> Result<Value, EvalError> {
        evaluate(&parse(source).unwrap(), &TestEnv)
    }

    #[test]
    fn evaluates_comparisons_and_arithmetic() {
        assert_eq!(eval("run.mode == 'drill'"), Ok(Value::Bool(true)));
        assert_eq!(eval("vars.count + 1 >= 3"), Ok(Value::Bool(true)));
        assert_eq!(eval("vars.count + 0.5"), Ok(Value::Number(2.5)));
        assert_eq!(eval("1h30m - 30m == 1h"), Ok(Value::Bool(true)));
        assert_eq!(
            eval("run.started_at - 15m").map(|v| v.to_text()),
            Ok("2026-12-04T02:55:00Z".to_string())
        );
    }

    #[test]
    fn and_short_circuits_missing_values() {
        assert_eq!(
            eval("run.mode == 'incident' && steps.a.outputs.b"),
            Ok(Value::Bool(false))
        );
        assert!(matches!(
            eval("run.mode == 'drill' && steps.a.outputs.b"),
            Err(EvalError::Unavailable { .. })
        ));
    }

    #[test]
    fn negative_duration_is_an_error() {
        let error = eval("5m - 10m").unwrap_err();
        assert!(error.to_string().contains("negative"), "{error}");
    }
}
