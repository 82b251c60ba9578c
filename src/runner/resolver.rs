//! Builds each step's action just before it runs: conditions, expressions, then the kind's action.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use drctl_executor::{Action, ActionError, Outputs, Prepared, StepContext, StepResolver, StepSpec};
use drctl_playbook::{Playbook, RunContext, Step};

use crate::actions::{self, ActionEnv};

/// Resolves playbook steps against the outputs recorded so far.
pub struct PlaybookResolver {
    playbook: Arc<Playbook>,
    context: Mutex<RunContext>,
    /// Template for each action's environment; `step_id` and `expected` are set per step.
    env: ActionEnv,
    /// Divides playbook durations on the emulated estate; 1 against real AWS.
    time_scale: f64,
}

impl PlaybookResolver {
    pub fn new(playbook: Arc<Playbook>, context: RunContext, env: ActionEnv, time_scale: f64) -> Self {
        PlaybookResolver { playbook, context: Mutex::new(context), env, time_scale }
    }

    fn step(&self, id: &str) -> Result<&Step, ActionError> {
        self.playbook
            .step(id)
            .ok_or_else(|| ActionError::fatal(format!("step '{id}' is in the run plan but not in the playbook")))
    }
}

#[async_trait]
impl StepResolver for PlaybookResolver {
    async fn prepare(&self, spec: &StepSpec, outputs: &HashMap<String, Outputs>) -> Result<Prepared, ActionError> {
        let step = self.step(&spec.id)?;

        // Bring the expression context up to date with every recorded output.
        let context = {
            let mut context = self.context.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            for (step_id, values) in outputs {
                context.record_outputs(step_id, values.clone());
            }
            context.clone()
        };

        let run = step.condition(&context).map_err(|error| ActionError::fatal(error.to_string()))?;
        if !run {
            let condition = step.when.as_deref().unwrap_or("true");
            return Ok(Prepared::Skip { reason: format!("condition {condition} is false") });
        }

        let params = match step.resolve_params(&context) {
            Ok(params) => params,
            // A dry run records no real outputs, so steps that read them can
            // only say what they would do.
            Err(error) if self.env.aws.is_read_only() => {
                return Ok(Prepared::Run(Box::new(UnresolvedInDryRun { kind: step.kind.clone(), reason: error.to_string() })));
            }
            Err(error) => return Err(ActionError::fatal(error.to_string())),
        };
        let mut env = self.env.clone();
        env.step_id = step.id.clone();
        env.expected = step.expected.map(|expected| expected.as_std().div_f64(self.time_scale));
        let inner = actions::build(&step.kind, params, env)?;
        if step.outputs.is_empty() {
            return Ok(Prepared::Run(inner));
        }
        Ok(Prepared::Run(Box::new(NamedOutputs { inner, step: step.clone(), context })))
    }
}

/// Adds a step's named `outputs` (expressions over its kind's outputs) to what the action returns.
struct NamedOutputs {
    inner: Box<dyn Action>,
    step: Step,
    context: RunContext,
}

#[async_trait]
impl Action for NamedOutputs {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn dry_run(&self, cx: &StepContext) -> Result<Vec<String>, ActionError> {
        self.inner.dry_run(cx).await
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let outputs = self.inner.run(cx).await?;
        let mut context = self.context.clone();
        context.record_outputs(&self.step.id, outputs.clone());
        self.step
            .resolve_outputs(&context, &outputs)
            .map_err(|error| ActionError::fatal(error.to_string()))
    }

    async fn undo(&self, cx: &StepContext, outputs: &Outputs) -> Result<(), ActionError> {
        self.inner.undo(cx, outputs).await
    }
}

/// Stands in, during a dry run, for a step whose parameters need outputs that
/// only a real run of earlier steps produces.
struct UnresolvedInDryRun {
    kind: String,
    reason: String,
}

#[async_trait]
impl Action for UnresolvedInDryRun {
    fn describe(&self) -> String {
        format!("{} with values from earlier steps", self.kind)
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        Ok(vec![format!(
            "would run {} once earlier steps have produced its inputs; a dry run cannot resolve them ({})",
            self.kind, self.reason
        )])
    }

    async fn run(&self, _cx: &StepContext) -> Result<Outputs, ActionError> {
        Err(ActionError::fatal(format!("{} cannot run: {}", self.kind, self.reason)))
    }

    async fn undo(&self, _cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        Ok(())
    }
}
