//! Syntax tree of one `${{ }}` expression.
//!
//! Every node carries the byte range it covers in the expression source, so
//! type errors can point a caret at the exact operand.

use std::ops::Range;

/// Byte range inside the expression source (the text between `${{` and `}}`).
pub type Span = Range<usize>;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Literal(Literal, Span),
    /// A dotted name such as `vars.min_acu` or `steps.restore.outputs.host`.
    Reference(Vec<String>, Span),
    /// `!operand` or `-operand`.
    Unary(UnaryOp, Box<Expr>, Span),
    /// `left op right`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>, Span),
}

impl Expr {
    /// Byte range of the whole node.
    pub fn span(&self) -> Span {
        match self {
            Expr::Literal(_, span)
            | Expr::Reference(_, span)
            | Expr::Unary(_, _, span)
            | Expr::Binary(_, _, _, span) => span.clone(),
        }
    }

    /// Calls `visit` on every reference in the expression, left to right.
    pub fn for_each_reference<'a>(&'a self, visit: &mut dyn FnMut(&'a [String], &Span)) {
        match self {
            Expr::Literal(..) => {}
            Expr::Reference(path, span) => visit(path, span),
            Expr::Unary(_, operand, _) => operand.for_each_reference(visit),
            Expr::Binary(_, left, right, _) => {
                left.for_each_reference(visit);
                right.for_each_reference(visit);
            }
        }
    }
}

/// A literal written in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    /// A duration literal such as `5m`, kept as std time for arithmetic.
    Duration(std::time::Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Negate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Add,
    Subtract,
}

impl BinaryOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Equal => "==",
            BinaryOp::NotEqual => "!=",
            BinaryOp::Less => "<",
            BinaryOp::LessEqual => "<=",
            BinaryOp::Greater => ">",
            BinaryOp::GreaterEqual => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
        }
    }
}
