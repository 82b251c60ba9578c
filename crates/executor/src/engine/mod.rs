//! The step executor: scheduling, retries, failure policies, undo and the RTO clock.

pub mod executor;
pub(crate) mod journal_writer;
pub(crate) mod rto;
pub(crate) mod shared;
pub(crate) mod step;
pub(crate) mod undo;
