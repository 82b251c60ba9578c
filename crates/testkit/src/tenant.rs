//! Tenants: one access key id per test, isolating its faults and request log.

use crate::control::ControlClient;
use crate::error::EstateError;
use crate::fault::FaultRule;
use crate::request::Request;

/// Region of the reference estate, used as the default for SDK clients.
pub const DEFAULT_REGION: &str = "eu-west-2";

/// One test's identity on a shared emulator. Requests signed with
/// [`Tenant::access_key_id`] see only this tenant's fault rules (and rules
/// without an access key), and [`Tenant::requests`] lists only them.
#[derive(Debug, Clone)]
pub struct Tenant {
    name: String,
    access_key_id: String,
    secret_access_key: String,
    endpoint: String,
    control: ControlClient,
}

#[derive(serde::Deserialize)]
struct RequestPage {
    requests: Vec<Request>,
}

impl Tenant {
    pub(crate) fn new(name: &str, access_key_id: String, endpoint: &str, control: ControlClient) -> Self {
        Self {
            name: name.to_owned(),
            secret_access_key: format!("estate-secret-{access_key_id}"),
            access_key_id,
            endpoint: endpoint.to_owned(),
            control,
        }
    }

    /// Returns the human-readable name given to [`crate::Estate::tenant`].
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Returns a dummy secret. The emulator does not verify signatures.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// Returns the emulator endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Environment for a child process (such as the drctl binary): `AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_EC2_METADATA_DISABLED`.
    /// Profile and session-token variables are emptied so that nothing from the host leaks in.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", DEFAULT_REGION),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.as_str()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_SESSION_TOKEN", ""),
            ("AWS_PROFILE", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// This tenant's requests so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.try_requests(0)
            .unwrap_or_else(|error| panic!("reading the request log of tenant {}: {error}", self.name))
    }

    /// This tenant's requests with a sequence number above `since`.
    pub fn try_requests(&self, since: u64) -> Result<Vec<Request>, EstateError> {
        let page: RequestPage = self
            .control
            .get(&format!("requests?since={since}&access_key={}", self.access_key_id))?;
        Ok(page.requests)
    }

    /// This tenant's requests whose operation changes state.
    pub fn mutating_requests(&self) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.mutating).collect()
    }

    /// Adds a fault rule scoped to this tenant's access key.
    pub fn add_fault(&self, rule: FaultRule) {
        self.try_add_fault(rule)
            .unwrap_or_else(|error| panic!("adding a fault rule for tenant {}: {error}", self.name))
    }

    pub fn try_add_fault(&self, mut rule: FaultRule) -> Result<(), EstateError> {
        rule.access_key = Some(self.access_key_id.clone());
        let _: serde_json::Value = self.control.post("faults", &rule)?;
        Ok(())
    }

    /// Removes every fault rule of this tenant.
    pub fn clear_faults(&self) {
        let _: serde_json::Value = self
            .control
            .delete(&format!("faults?access_key={}", self.access_key_id))
            .unwrap_or_else(|error| panic!("clearing the fault rules of tenant {}: {error}", self.name));
    }
}
