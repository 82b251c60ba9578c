//! drctl: declarative disaster-recovery playbooks for AWS Aurora PostgreSQL,
//! ALB target groups and Terraform state.

pub mod actions;
pub mod aws;
