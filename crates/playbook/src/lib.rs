//! Playbook format v1 for drctl: loading, validation, expressions, the offline
//! plan and the JSON Schema.
//!
//! Entry points: [`load_file`] / [`load_str`] return a [`LoadReport`] with the
//! checked [`Playbook`] and every [`Diagnostic`]; [`plan()`] builds the offline
//! [`Plan`]; [`RunContext`] with [`Step::resolve_params`],
//! [`Step::condition`] and [`Step::resolve_outputs`] resolve expressions at
//! run time; [`json_schema`] returns the JSON Schema for editors.

pub mod diagnostic;
pub mod document;
pub mod duration;
pub mod expr;
pub mod graph;
pub mod kinds;
pub mod load;
pub mod model;
pub mod plan;
pub mod runtime;
pub mod schema;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{LoadOptions, LoadReport, Overrides, load_file, load_str};
pub use model::{
    Approval, FORMAT_VERSION, Mode, Objective, OnFailure, PlannedEffect, Playbook,
    ProtectedResource, Regions, RetryPolicy, Step, Variable, VariableType,
};
pub use plan::{Plan, plan};
pub use runtime::{ResolveError, RunContext};
pub use schema::json_schema;

/// Exit code of `drctl validate` for a valid playbook (warnings allowed).
pub const EXIT_VALID: i32 = 0;
/// Exit code of `drctl validate` when any playbook has an error.
pub const EXIT_INVALID: i32 = 2;
