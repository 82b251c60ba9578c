//! Loading and validating a playbook file.

mod decode;
mod expressions;
mod loader;
mod names;
mod overrides;
mod safety;

pub use loader::{LoadOptions, LoadReport, load_file, load_str};
pub use names::RUN_FIELDS;
pub use overrides::Overrides;
pub use safety::glob_match;
