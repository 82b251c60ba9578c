//! The emulator's configuration as the control API reports and accepts it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The estate's settings. Durations are in simulated seconds; one real second
/// is `time_scale` simulated seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct EstateConfig {
    pub time_scale: f64,
    /// Operation durations by name, e.g. `cluster_restore_pitr`, `snapshot_copy_cross_region`.
    pub durations: BTreeMap<String, f64>,
    /// How far LatestRestorableTime trails the current time, in simulated seconds.
    pub restorable_lag_seconds: f64,
    /// Target IP addresses whose health checks fail.
    pub down_ips: Vec<String>,
    /// The fixed RDS endpoint suffix of each region, as in `<id>.cluster-<suffix>.<region>.rds.amazonaws.com`.
    pub rds_endpoint_suffixes: BTreeMap<String, String>,
    pub account_id: String,
    /// The simulated clock, in seconds since the emulator started.
    pub sim_now: f64,
}

/// A partial configuration change; `None` fields keep their value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
    /// Durations to change, in simulated seconds; names not listed keep their value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub durations: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restorable_lag_seconds: Option<f64>,
    /// Replaces the whole down list when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_ips: Option<Vec<String>>,
}
