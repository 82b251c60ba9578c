//! Tests of the emulated estate through the Rust AWS SDK, one binary so that
//! the shared estate starts once. Run with `cargo test -p drctl-testkit`.

mod elbv2_health;
mod faults;
mod moto_fixes;
mod postgres;
mod process_lifetime;
mod python_units;
mod rds_timing;
mod request_log;
mod sdk_compat;
mod seeding;
mod support;
