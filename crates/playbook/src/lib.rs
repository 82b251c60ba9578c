//! Playbook format v1 for drctl: loading, validation, expressions, the offline
//! plan and the JSON Schema.

pub mod diagnostic;
pub mod document;
pub mod duration;
pub mod expr;
pub mod kinds;
pub mod load;
pub mod model;
