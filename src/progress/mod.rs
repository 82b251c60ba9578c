//! Progress for people: live bars on a terminal, plain timestamped lines elsewhere.
//!
//! Reporters only consume executor events; they never influence the run.

mod plain;
mod terminal;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use drctl_executor::Event;
use tokio::sync::mpsc::UnboundedReceiver;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// Bars on a terminal that is not CI, plain lines otherwise.
    Auto,
    Plain,
    /// Bars even when the terminal looks like CI.
    Bars,
    Quiet,
}

impl ProgressStyle {
    /// Resolves `Auto` for this process's stdout and environment.
    pub fn resolve(self) -> ProgressStyle {
        match self {
            ProgressStyle::Auto if std::io::stdout().is_terminal() && std::env::var_os("CI").is_none() => ProgressStyle::Bars,
            ProgressStyle::Auto => ProgressStyle::Plain,
            other => other,
        }
    }

    pub fn color(self) -> bool {
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
    }
}

/// Step budgets and expectations for display, already divided by the time scale.
#[derive(Debug, Clone, Default)]
pub struct StepTimes {
    pub budgets: HashMap<String, Duration>,
}

/// Consumes events until the executor drops its sender.
pub fn spawn(
    style: ProgressStyle,
    mut events: UnboundedReceiver<Event>,
    time_scale: f64,
    times: StepTimes,
) -> tokio::task::JoinHandle<()> {
    let style = style.resolve();
    tokio::spawn(async move {
        match style {
            ProgressStyle::Bars => terminal::TerminalReporter::new(time_scale, times).consume(events).await,
            ProgressStyle::Plain | ProgressStyle::Auto => plain::PlainReporter::new(time_scale, times).consume(events).await,
            ProgressStyle::Quiet => while events.recv().await.is_some() {},
        }
    })
}

/// Formats a duration for people; with a time scale above 1 it shows the
/// simulated duration, which is what the playbook's budgets are written in.
pub fn human(duration: Duration, time_scale: f64) -> String {
    let seconds = (duration.as_secs_f64() * time_scale.max(1.0)).round() as u64;
    if seconds >= 3600 {
        format!("{}h{:02}m{:02}s", seconds / 3600, seconds % 3600 / 60, seconds % 60)
    } else if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(5), 1.0), "5s");
        assert_eq!(human(Duration::from_secs(754), 1.0), "12m34s");
        assert_eq!(human(Duration::from_secs(12), 60.0), "12m00s");
        assert_eq!(human(Duration::from_secs(3700), 1.0), "1h01m40s");
    }
}
