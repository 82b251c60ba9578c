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

/// A polling schedule.
///
/// Without an expected duration, the delay starts at `initial`, grows by half
/// each poll, and stops growing at `max`. With one (`expected`, measured from
/// the step's start), the poller checks early once, then at 50 %, 75 %, 90 %
/// and 95 % of it (at most `max` apart), then every 1 % of it until 110 %,
/// and then backs off towards `max`. Most of a wait passes with few calls,
/// and the moment a resource becomes ready on schedule is seen within 1 % of
/// the expected duration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Poller {
    pub initial: Duration,
    pub max: Duration,
    pub expected: Option<Duration>,
}

/// Fractions of the expected duration at which the poller checks before it polls densely.
const CHECKPOINTS: [f64; 4] = [0.5, 0.75, 0.9, 0.95];
/// Dense polling runs from the last checkpoint to this fraction of the expected duration.
const DENSE_UNTIL: f64 = 1.1;
/// Interval of dense polling, as a fraction of the expected duration.
const DENSE_FRACTION: f64 = 0.01;

/// Consecutive retryable poll errors (throttling, 5xx) tolerated before a wait gives up.
const MAX_CONSECUTIVE_POLL_ERRORS: u32 = 20;
const MIN_INTERVAL: Duration = Duration::from_millis(50);
const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Maximum gap between polls while waiting for an expected duration, before the time scale.
const CHECKPOINT_GAP: Duration = Duration::from_secs(60);

impl Poller {
    /// Builds the schedule for a step with an expected duration (the
    /// checkpoints described on [`Poller`]), or without one. With one, no two
    /// polls are more than 60 s apart, so an operator sees fresh status at
    /// least once a minute. Without one, polling starts at 2 s and slows to
    /// 30 s. Both constants are divided by `time_scale`, which is above 1
    /// only on the emulated estate.
    pub fn for_expected(expected: Option<Duration>, time_scale: f64) -> Poller {
        let scale = if time_scale.is_finite() && time_scale > 0.0 { time_scale } else { 1.0 };
        match expected {
            Some(expected) if !expected.is_zero() => {
                let initial = (expected / 200).clamp(MIN_INTERVAL, MAX_INTERVAL);
                let max = CHECKPOINT_GAP.div_f64(scale).max(initial);
                Poller { initial, max, expected: Some(expected) }
            }
            _ => {
                let initial = Duration::from_secs(2).div_f64(scale).clamp(MIN_INTERVAL, MAX_INTERVAL);
                Poller { initial, max: MAX_INTERVAL.div_f64(scale).clamp(initial, MAX_INTERVAL), expected: None }
            }
        }
    }

    /// An explicit schedule from a playbook's `poll` setting.
    pub fn explicit(initial: Duration, max: Duration) -> Poller {
        let initial = initial.max(MIN_INTERVAL);
        Poller { initial, max: max.max(initial), expected: None }
    }

    /// Returns the same bounds without the expected-duration schedule, for polls that
    /// watch a state over a fixed time (such as a health hold) rather than wait for a change.
    pub fn steady(self) -> Poller {
        Poller { expected: None, ..self }
    }

    /// Computes the delay before the next poll, `since_start` into the step, after a delay of `previous`.
    fn next_delay(&self, since_start: Duration, previous: Duration) -> Duration {
        let Some(expected) = self.expected else {
            return previous.mul_f64(1.5).min(self.max);
        };
        let dense = expected.mul_f64(DENSE_FRACTION).max(MIN_INTERVAL);
        if let Some(checkpoint) = CHECKPOINTS
            .iter()
            .map(|fraction| expected.mul_f64(*fraction))
            .find(|checkpoint| *checkpoint > since_start)
        {
            return (checkpoint - since_start).clamp(MIN_INTERVAL, self.max);
        }
        if since_start < expected.mul_f64(DENSE_UNTIL) {
            return dense;
        }
        // Later than expected: back off, but never slower than the checkpoint gap.
        previous.max(dense).mul_f64(1.5).min(self.max)
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

            if self.expected.is_some() && consecutive_errors == 0 {
                let since_start = (chrono::Utc::now() - cx.started_at()).to_std().unwrap_or_default();
                delay = self.next_delay(since_start, delay);
            }
            let jittered = delay.mul_f64(rand::rng().random_range(0.9..1.1));
            tokio::select! {
                _ = tokio::time::sleep(jittered) => {}
                _ = cx.cancelled() => {
                    return Err(ActionError::new(ErrorClass::Cancelled, format!("stopped waiting for {what}: the run was cancelled")));
                }
            }
            if self.expected.is_none() {
                delay = self.next_delay(Duration::ZERO, delay);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_follows_expected_duration() {
        let minutes = |m: f64| Duration::from_secs_f64(m * 60.0);
        let poller = Poller::for_expected(Some(minutes(12.0)), 1.0);
        assert_eq!(poller.initial, Duration::from_millis(3600));
        assert_eq!(poller.max, Duration::from_secs(60));
        // Far from the expected end: one poll per minute at most.
        assert_eq!(poller.next_delay(minutes(1.0), poller.initial), Duration::from_secs(60));
        // Just before a checkpoint: sleep until it.
        assert_eq!(poller.next_delay(minutes(5.5), poller.initial), Duration::from_secs(30));
        // Near the expected end: every 1 % of it (7.2 s).
        assert_eq!(poller.next_delay(minutes(11.5), poller.initial), Duration::from_millis(7200));
        // Well past it: back off towards the cap.
        assert_eq!(poller.next_delay(minutes(14.0), Duration::from_secs(20)), Duration::from_secs(30));
        assert_eq!(poller.next_delay(minutes(20.0), Duration::from_secs(50)), Duration::from_secs(60));
    }

    #[test]
    fn expected_schedule_beats_30s_waiter() {
        // Count polls of a 12-minute wait that becomes ready exactly on time.
        let expected = Duration::from_secs(12 * 60);
        let poller = Poller::for_expected(Some(expected), 1.0);
        let (mut now, mut delay, mut polls) = (Duration::ZERO, poller.initial, 1);
        while now < expected {
            delay = poller.next_delay(now, delay);
            now += delay;
            polls += 1;
        }
        let late = now - expected;
        assert!(polls < 24, "{polls} polls; a 30 s waiter makes 24");
        assert!(late <= Duration::from_millis(7200), "seen {late:?} late");
    }

    #[test]
    fn schedule_is_clamped() {
        let fast = Poller::for_expected(Some(Duration::from_millis(100)), 1.0);
        assert_eq!(fast.initial, MIN_INTERVAL);
        let slow = Poller::for_expected(Some(Duration::from_secs(10 * 3600)), 1.0);
        assert_eq!(slow.initial, MAX_INTERVAL);
        assert_eq!(slow.max, Duration::from_secs(60));
    }

    #[test]
    fn steady_drops_the_expected_schedule() {
        let poller = Poller::for_expected(Some(Duration::from_secs(600)), 1.0).steady();
        assert_eq!(poller.expected, None);
        assert_eq!(poller.next_delay(Duration::from_secs(590), Duration::from_secs(4)), Duration::from_secs(6));
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
