//! The crash-safe intent log of a run.

pub mod lock;
pub mod record;
pub mod replay;
pub mod state;
pub mod store;
