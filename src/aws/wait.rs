//! Waiting for AWS resources: polling with jitter, backing off towards a cap.
//!
//! The SDK's generated waiters poll no faster than every 30 s and give up after
//! a fixed time, which adds up to half a minute of dead time to every phase of a
//! recovery. drctl polls relative to the step's expected duration instead: fast
//! at first, then slower, so that a 12-minute restore is noticed within a few
//! seconds of becoming available while the call rate stays low.

use std::future::Future;
use std::time::Duration;

use drctl_executor::{ActionError, ErrorClass, StepContext};
use rand::Rng;

/// The result of one poll.
pub enum PollStatus<T> {
    Ready(T),
    /// Not ready yet; the status text (and percentage, when known) is shown as progress.
    Pending { status: String, percent: Option<f64> },
}

/// A polling schedule: it starts at `initial`, grows by half each poll, and stops growing at `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Poller {
    pub initial: Duration,
    pub max: Duration,
}

/// Consecutive retryable poll errors (throttling, 5xx) tolerated before a wait gives up.
const MAX_CONSECUTIVE_POLL_ERRORS: u32 = 20;
const MIN_INTERVAL: Duration = Duration::from_millis(50);
const MAX_INTERVAL: Duration = Duration::from_secs(30);

impl Poller {
    /// A schedule derived from the expected duration of the wait: the first
    /// poll after 1/200 of it and at most every 1/50 of it, within 50 ms–30 s.
    /// Without an expectation it starts at 2 s and caps at 30 s, divided by
    /// `time_scale` (greater than 1 only on the emulated estate).
    pub fn for_expected(expected: Option<Duration>, time_scale: f64) -> Poller {
        let scale = if time_scale.is_finite() && time_scale > 0.0 { time_scale } else { 1.0 };
        let (initial, max) = match expected {
            Some(expected) if !expected.is_zero() => (expected / 200, expected / 50),
            _ => (Duration::from_secs(2).div_f64(scale), MAX_INTERVAL.div_f64(scale)),
        };
        let initial = initial.clamp(MIN_INTERVAL, MAX_INTERVAL);
        Poller { initial, max: max.clamp(initial, MAX_INTERVAL) }
    }

    /// An explicit schedule from a playbook's `poll` setting.
    pub fn explicit(initial: Duration, max: Duration) -> Poller {
        let initial = initial.max(MIN_INTERVAL);
        Poller { initial, max: max.max(initial) }
    }

    /// Calls `probe` until it returns `Ready`, showing each status as progress.
    ///
    /// Retryable errors (throttling, 5xx, network) slow the schedule down and
    /// are tolerated up to a limit; other errors end the wait. The step's
    /// timeout bounds the wait (the executor drops it), and cancellation ends
    /// it with a `Cancelled` error.
    pub async fn wait<T, F, Fut>(&self, cx: &StepContext, what: &str, mut probe: F) -> Result<T, ActionError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<PollStatus<T>, ActionError>>,
    {
        let mut delay = self.initial;
        let mut consecutive_errors = 0;
        loop {
            match probe().await {
                Ok(PollStatus::Ready(value)) => return Ok(value),
                Ok(PollStatus::Pending { status, percent }) => {
                    consecutive_errors = 0;
                    cx.progress(status, percent);
                }
                Err(error) if error.class.is_retryable() => {
                    consecutive_errors += 1;
                    tracing::warn!(
                        run_id = cx.run_id(),
                        step_id = cx.step_id(),
                        attempt = consecutive_errors,
                        error = %error.message,
                        "poll of {what} failed; backing off"
                    );
                    if consecutive_errors >= MAX_CONSECUTIVE_POLL_ERRORS {
                        return Err(ActionError::new(
                            error.class,
                            format!("gave up waiting for {what} after {consecutive_errors} failed polls in a row: {}", error.message),
                        ));
                    }
                    // Throttled: wait twice as long before the next poll.
                    delay = (delay * 2).min(self.max);
                }
                Err(error) => return Err(error),
            }

            let jittered = delay.mul_f64(rand::rng().random_range(0.8..1.2));
            tokio::select! {
                _ = tokio::time::sleep(jittered) => {}
                _ = cx.cancelled() => {
                    return Err(ActionError::new(ErrorClass::Cancelled, format!("stopped waiting for {what}: the run was cancelled")));
                }
            }
            delay = delay.mul_f64(1.5).min(self.max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_follows_expected_duration() {
        let poller = Poller::for_expected(Some(Duration::from_secs(12 * 60)), 1.0);
        assert_eq!(poller.initial, Duration::from_millis(3600));
        assert_eq!(poller.max, Duration::from_millis(14_400));
    }

    #[test]
    fn schedule_is_clamped() {
        let fast = Poller::for_expected(Some(Duration::from_millis(100)), 1.0);
        assert_eq!(fast.initial, MIN_INTERVAL);
        let slow = Poller::for_expected(Some(Duration::from_secs(10 * 3600)), 1.0);
        assert_eq!(slow.max, MAX_INTERVAL);
    }

    #[test]
    fn default_schedule_scales_with_time_scale() {
        let poller = Poller::for_expected(None, 60.0);
        assert_eq!(poller.max, Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_retries_throttling_then_succeeds() {
        let (cx, _handle) = StepContext::for_tests("wait", "drill");
        let mut calls = 0;
        let value = Poller::explicit(Duration::from_secs(1), Duration::from_secs(4))
            .wait(&cx, "test resource", || {
                calls += 1;
                let call = calls;
                async move {
                    match call {
                        1 => Err(ActionError::retryable("Throttling: Rate exceeded")),
                        2 => Ok(PollStatus::Pending { status: "creating".into(), percent: Some(40.0) }),
                        _ => Ok(PollStatus::Ready(call)),
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_stops_on_fatal_error() {
        let (cx, _handle) = StepContext::for_tests("wait", "drill");
        let error = Poller::explicit(Duration::from_secs(1), Duration::from_secs(4))
            .wait(&cx, "test resource", || async { Err::<PollStatus<()>, _>(ActionError::fatal("AccessDenied")) })
            .await
            .unwrap_err();
        assert_eq!(error.class, ErrorClass::Fatal);
    }
}
