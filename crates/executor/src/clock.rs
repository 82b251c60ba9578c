//! Wall-clock time that follows tokio's clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// The time of a run: a wall-clock start plus the tokio `Instant` elapsed
/// since then. In tests with a paused tokio clock, time advances only when
/// tokio advances it, so durations and RTO projections are exact.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    wall_start: DateTime<Utc>,
    instant_start: Instant,
}

impl RunClock {
    /// Starts a clock that reads `wall_start` now.
    pub fn starting_at(wall_start: DateTime<Utc>) -> Self {
        RunClock { wall_start, instant_start: Instant::now() }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = self.instant_start.elapsed();
        self.wall_start + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
    }

    /// Converts a wall-clock time of this clock to a tokio instant.
    pub fn instant_at(&self, time: DateTime<Utc>) -> Instant {
        match (time - self.wall_start).to_std() {
            Ok(offset) => self.instant_start + offset,
            Err(_) => self.instant_start,
        }
    }
}

/// `later - earlier`, or zero when `later` is not later.
pub(crate) fn elapsed_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> Duration {
    (later - earlier).to_std().unwrap_or(Duration::ZERO)
}
