//! Conversion of journal times to simulated seconds after the incident.
//!
//! On the emulated estate the CLI runs the clock faster: real seconds ×
//! `time_scale` = simulated seconds. The gap between the incident and the
//! start of the run happened before drctl ran and is real time, so only
//! time after `started_at` is scaled:
//!
//! ```text
//! offset(t) = (started_at - incident_time) + (t - started_at) × time_scale
//! ```
//!
//! With `time_scale` 1 this is simply `t - incident_time`.

use chrono::{DateTime, Utc};

/// Maps journal times to simulated seconds.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    pub incident_time: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub time_scale: f64,
}

impl Timeline {
    /// Simulated seconds from the incident to `time`. Times before the
    /// incident give negative values.
    pub fn offset(&self, time: DateTime<Utc>) -> f64 {
        let before_run = seconds_between(self.incident_time, self.started_at.max(self.incident_time));
        let in_run = seconds_between(self.started_at, time);
        if in_run < 0.0 { seconds_between(self.incident_time, time) } else { before_run + in_run * self.time_scale }
    }

    /// Simulated length of the interval from `start` to `end`.
    pub fn duration(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
        round_ms(seconds_between(start, end) * self.time_scale)
    }

    /// Simulated seconds for a real duration in milliseconds.
    pub fn scale_millis(&self, millis: u128) -> f64 {
        round_ms(millis as f64 / 1000.0 * self.time_scale)
    }
}

/// Seconds from `start` to `end`, negative when `end` is earlier.
pub fn seconds_between(start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
    let delta = end - start;
    delta.num_milliseconds() as f64 / 1000.0
}

/// Rounds to whole milliseconds, so JSON does not carry float noise.
pub fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, second).unwrap()
    }

    #[test]
    fn offset_unscaled_counts_from_incident() {
        let timeline = Timeline { incident_time: at(0), started_at: at(10), time_scale: 1.0 };
        assert_eq!(timeline.offset(at(25)), 25.0);
    }

    #[test]
    fn offset_scales_only_time_in_run() {
        let timeline = Timeline { incident_time: at(0), started_at: at(10), time_scale: 60.0 };
        assert_eq!(timeline.offset(at(12)), 10.0 + 120.0);
        assert_eq!(timeline.duration(at(12), at(13)), 60.0);
    }
}
