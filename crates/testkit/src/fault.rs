//! Fault rules, as sent to the emulator's `/_estate/faults`.

use serde::Serialize;

/// Effect of a fault rule on a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// RDS/ELBv2: HTTP 400 `Throttling`; S3: HTTP 503 `SlowDown`; JSON services: `ThrottlingException`.
    Throttle,
    /// HTTP 500 `InternalFailure` (S3: `InternalError`).
    InternalError,
    /// HTTP 503 `ServiceUnavailable`.
    Unavailable,
    /// The request succeeds after `latency_ms` more milliseconds.
    Latency,
}

/// One fault rule. `target` is an operation (`DescribeDBClusters`), a service
/// (`rds:*`, using SigV4 service names such as `elasticloadbalancing`), a
/// service and operation (`s3:GetObject`) or `*` for everything.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRule {
    #[serde(rename = "match")]
    pub target: String,
    pub kind: FaultKind,
    /// Probability (0.0–1.0) that a matching call is hit, drawn from an RNG seeded with `seed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Hit exactly the next `count` matching calls, then never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    pub seed: u64,
    /// Set by [`crate::Tenant::add_fault`] to the tenant's access key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
}

impl FaultRule {
    /// Creates a rule that hits every matching call.
    pub fn always(target: &str, kind: FaultKind) -> Self {
        Self {
            target: target.to_owned(),
            kind,
            rate: Some(1.0),
            count: None,
            latency_ms: None,
            seed: 0,
            access_key: None,
        }
    }

    /// Creates a rule that hits the next `count` matching calls.
    pub fn next(target: &str, kind: FaultKind, count: u32) -> Self {
        Self {
            rate: None,
            count: Some(count),
            ..Self::always(target, kind)
        }
    }

    /// Creates a rule that hits matching calls with probability `rate`, reproducibly for one `seed`.
    pub fn rate(target: &str, kind: FaultKind, rate: f64, seed: u64) -> Self {
        Self {
            rate: Some(rate),
            seed,
            ..Self::always(target, kind)
        }
    }

    /// Creates a rule that delays every matching call by `millis` milliseconds.
    pub fn latency(target: &str, millis: u64) -> Self {
        Self {
            latency_ms: Some(millis),
            ..Self::always(target, FaultKind::Latency)
        }
    }
}
