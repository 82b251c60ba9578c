//! AWS access: clients per region, error classification, read-only enforcement and waiting.

mod clients;
mod error;
mod read_only;
pub mod rds;
mod wait;

pub use clients::{AwsClients, CallerIdentity};
pub use error::{AwsCall, classify_code, is_not_found};
pub use read_only::{ReadOnlyGuard, is_mutating_operation};
pub use wait::{PollStatus, Poller};
