//! Entries of the emulator's request log.

use serde::Deserialize;

/// One AWS request as the emulator saw it.
#[derive(Debug, Clone, Deserialize)]
pub struct Request {
    /// Sequence number, increasing by one per request across the whole emulator.
    pub seq: u64,
    /// Completion time, RFC 3339 UTC with milliseconds.
    pub time: String,
    pub duration_ms: f64,
    /// Access key id from the SigV4 credential scope.
    pub access_key: Option<String>,
    pub region: Option<String>,
    /// SigV4 service name, e.g. `rds`, `elasticloadbalancing`, `s3`, `kms`.
    pub service: Option<String>,
    /// API operation name, e.g. `RestoreDBClusterToPointInTime`, `GetBucketVersioning`.
    pub operation: Option<String>,
    /// Request parameters with every value whose name contains Password, Secret or Token replaced.
    pub params: serde_json::Value,
    /// Whether the operation changes state (anything but Describe*, List*, Get*, Head*).
    pub mutating: bool,
    /// HTTP status returned.
    pub status: u16,
    /// The injected fault kind (`throttle`, `internal_error`, `unavailable`), if one replaced the response.
    pub fault: Option<String>,
}
