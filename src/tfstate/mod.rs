//! Terraform state in a versioned S3 bucket: documents, versions and locks.

pub mod lock;
pub mod state;
pub mod versions;

pub use lock::{LockHolder, LockInfo};
pub use state::{StateDiff, StateError, TerraformState, md5_hex, sha256_hex};
pub use versions::{StateVersion, copy_source, fetch_version, list_versions, render_versions_table, require_versioning, select_version};
