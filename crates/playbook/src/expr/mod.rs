//! The `${{ }}` expression language: parsing, static typing and evaluation.

pub mod ast;
pub mod eval;
pub mod parser;
pub mod template;
pub mod typing;
pub mod value;

pub use ast::Expr;
pub use eval::{Env, EvalError, evaluate};
pub use parser::{SyntaxError, parse};
pub use template::{Part, Template, TemplateError};
pub use typing::{NameError, Scope, TypeError, type_of};
pub use value::Value;
