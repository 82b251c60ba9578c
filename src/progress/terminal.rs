//! Live progress on a terminal: one line per running step and a run-level RTO bar.

use std::collections::HashMap;
use std::time::Duration;

use drctl_executor::Event;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use super::plain::PlainReporter;
use super::{StepTimes, human};

pub struct TerminalReporter {
    time_scale: f64,
    times: StepTimes,
    bars: MultiProgress,
    rto: ProgressBar,
    steps: HashMap<String, ProgressBar>,
    /// Finished-step lines reuse the plain wording, printed above the bars.
    lines: PlainReporter,
}

impl TerminalReporter {
    pub fn new(time_scale: f64, times: StepTimes) -> Self {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let rto = bars.add(ProgressBar::new(1000));
        rto.set_style(
            ProgressStyle::with_template("RTO {bar:30.cyan/blue} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        TerminalReporter {
            time_scale,
            lines: PlainReporter::new(time_scale, times.clone()),
            times,
            bars,
            rto,
            steps: HashMap::new(),
        }
    }

    pub async fn consume(mut self, mut events: UnboundedReceiver<Event>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.handle(event),
                    None => break,
                },
                _ = tick.tick() => self.refresh(),
            }
        }
        for bar in self.steps.values() {
            bar.finish_and_clear();
        }
        self.rto.finish();
    }

    fn refresh(&self) {
        for (step_id, bar) in &self.steps {
            let elapsed = human(bar.elapsed(), self.time_scale);
            let budget = self.times.budgets.get(step_id).map(|b| format!(" / {}", human(*b, self.time_scale))).unwrap_or_default();
            bar.set_prefix(format!("{step_id:<24} {elapsed:>8}{budget}"));
        }
    }

    fn handle(&mut self, event: Event) {
        match &event {
            Event::StepStarted { step_id, description, .. } => {
                let bar = self.bars.insert_before(&self.rto, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message(description.clone());
                self.steps.insert(step_id.clone(), bar);
                self.refresh();
            }
            Event::StepProgress { step_id, message, .. } => {
                if let Some(bar) = self.steps.get(step_id) {
                    bar.set_message(message.clone());
                }
                return;
            }
            Event::StepSucceeded { step_id, .. } | Event::StepFailed { step_id, .. } => {
                if let Some(bar) = self.steps.remove(step_id) {
                    bar.finish_and_clear();
                }
            }
            Event::RtoForecast(forecast) => {
                let target = forecast.target.as_secs_f64().max(0.001);
                let position = (forecast.elapsed.as_secs_f64() / target * 1000.0).min(1000.0);
                self.rto.set_position(position as u64);
                self.rto.set_message(format!(
                    "elapsed {} · projected {} · target {}",
                    human(forecast.elapsed, self.time_scale),
                    human(forecast.projected, self.time_scale),
                    human(forecast.target, self.time_scale)
                ));
                return;
            }
            _ => {}
        }
        if let Some(line) = self.lines_for(&event) {
            self.bars.suspend(|| println!("{line}"));
        }
    }

    fn lines_for(&mut self, event: &Event) -> Option<String> {
        self.lines.render(event)
    }
}
