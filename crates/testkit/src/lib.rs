//! Test fixture for drctl: the local emulated AWS estate and a throwaway TLS PostgreSQL.
//!
//! [`Estate::shared`] starts the emulator (moto with the timing, fault and
//! request-log layer under `integration/emulator`), seeds the reference
//! estate and starts PostgreSQL once per test binary. Each test takes a
//! [`Tenant`], a unique access key id that scopes its fault rules and its view
//! of the request log. Every process started here exits when the test binary
//! exits, including on panic or SIGKILL, because the launcher watches its
//! parent process and a watchdog watches the launcher.

mod config;
mod control;
mod error;
mod estate;
mod fault;
mod launcher;
mod postgres;
mod request;
mod seed;
mod tenant;

pub use config::{ConfigUpdate, EstateConfig};
pub use error::EstateError;
pub use estate::{Estate, EstateOptions};
pub use fault::{FaultKind, FaultRule};
pub use postgres::Postgres;
pub use request::Request;
pub use seed::{BackupNetwork, KmsKey, SeedInfo, Subnet, TfstateInfo};
pub use tenant::Tenant;
