//! Shared helpers for the root crate's integration tests: AWS clients aimed at
//! the local emulated estate, and action environments for one test.
#![allow(dead_code)]

pub mod cli;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::region::Region;
use drctl::actions::{ActionEnv, Mode};
use drctl::aws::AwsClients;
use drctl_testkit::{Estate, Tenant};

/// The shared estate of this test binary and a tenant of its own for the caller.
pub fn tenant(name: &str) -> (&'static Estate, Tenant) {
    let estate = Estate::shared();
    (estate, estate.tenant(name))
}

/// SDK clients aimed at the emulator, signed with the tenant's access key, so the
/// tenant's fault rules apply and its request log shows the calls.
pub async fn clients(tenant: &Tenant, read_only: bool) -> Arc<AwsClients> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(tenant.endpoint())
        .region(Region::new("eu-west-2"))
        .credentials_provider(Credentials::new(
            tenant.access_key_id(),
            tenant.secret_access_key(),
            None,
            None,
            "drctl-tests",
        ))
        .load()
        .await;
    Arc::new(AwsClients::from_config(config, read_only))
}

/// An action environment for one test: a unique run id, the given mode, and
/// the estate's time scale so polling matches the emulator's timing.
pub fn env(clients: Arc<AwsClients>, mode: Mode, run_id: &str) -> ActionEnv {
    let mut env = ActionEnv::for_tests(clients, mode);
    env.run_id = run_id.to_string();
    env.time_scale = Estate::shared().config().time_scale;
    env
}

/// A run id unique to this process and call, valid as an RDS identifier part.
pub fn unique_run_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}
