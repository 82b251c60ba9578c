//! drctl: declarative disaster-recovery playbooks for AWS Aurora PostgreSQL,
//! ALB target groups and Terraform state.
//!
//! The binary is a thin layer over these modules: `cli` parses arguments,
//! `runner` joins the playbook crate, the executor and the `actions`, which
//! reach AWS through `aws`; `progress` shows the run to people.

pub mod actions;
pub mod aws;
pub mod cli;
pub mod exit;
pub mod preflight;
pub mod progress;
pub mod runner;
pub mod tfstate;
