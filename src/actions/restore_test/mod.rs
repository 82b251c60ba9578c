//! `restore_test`: proves a restore by reading its data over verified TLS.
//!
//! The step connects to the restored cluster (retrying while a fresh instance
//! still refuses connections), runs the playbook's SQL checks, the named
//! built-in sets and the RPO measurement inside one read-only transaction,
//! and journals every result with [`StepContext::record_check`]. It never
//! writes to the database and never journals or prints a password or token.
//!
//! [`StepContext::record_check`]: drctl_executor::StepContext::record_check

mod action;
mod builtin;
mod checks;
mod connect;
mod credentials;
mod expectation;
mod iam_token;
mod rpo;
mod value;

pub use action::build;
