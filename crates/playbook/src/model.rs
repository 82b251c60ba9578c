//! The playbook data model: the YAML shape (format v1) and the loaded form.
//!
//! The `*Doc` structs mirror the file and exist for strict decoding and the
//! JSON Schema. [`Playbook`] and [`Step`] are the checked, loaded form that the
//! plan and the executor use: every default is filled in, every reference is
//! known to resolve, and every expression type-checks.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::kinds::{EffectAction, KindInfo, ValueType};

/// The only format version this crate reads.
pub const FORMAT_VERSION: u32 = 1;

/// Default step timeout when `timeout` is omitted: one hour, longer than an
/// Aurora restore of a small cluster usually takes.
pub const DEFAULT_TIMEOUT: Duration = Duration(std::time::Duration::from_secs(3600));

/// The kind of run. A drill restores into new resources and changes nothing
/// it did not create. An incident recovers production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Drill,
    Incident,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Drill => "drill",
            Mode::Incident => "incident",
        }
    }
}

/// A recovery objective: the target and an optional earlier warning threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// The objective itself, for example an RTO of 30m.
    pub target: Duration,
    /// Time after which reports flag the run as at risk; must not exceed `target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<Duration>,
}

/// The AWS regions of the estate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    /// Region that serves production, for example `eu-west-2`.
    pub primary: String,
    /// Region holding backup copies, for example `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

/// The declared type of a variable, as written in YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    String,
    Int,
    Number,
    Bool,
    Duration,
    Timestamp,
}

impl VariableType {
    pub fn value_type(self) -> ValueType {
        match self {
            VariableType::String => ValueType::String,
            VariableType::Int => ValueType::Int,
            VariableType::Number => ValueType::Number,
            VariableType::Bool => ValueType::Bool,
            VariableType::Duration => ValueType::Duration,
            VariableType::Timestamp => ValueType::Timestamp,
        }
    }
}

/// A typed playbook variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(rename = "type")]
    pub ty: VariableType,
    /// Value used when no override is given. Without a default, the variable
    /// must be set with `--var` or `--vars-file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A resource drctl must never change. `id` may contain `*` globs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectedResource {
    /// Resource type such as `rds:cluster` or `s3:object`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Resource id, ARN or `bucket/key`; `*` matches any run of characters.
    pub id: String,
}

/// The executor's reaction when a step fails after all retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Stop scheduling new steps; always-steps still run.
    #[default]
    Abort,
    /// Record the failure and go on with steps that do not need this one.
    Continue,
    /// Undo the completed steps in reverse order, then stop.
    Undo,
}

/// Whether a step waits for an operator's approval before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// Required for destructive kinds in incident mode, not needed otherwise.
    #[default]
    Auto,
    /// Always required.
    Required,
    /// Never required.
    None,
}

fn default_attempts() -> u32 {
    1
}

fn default_initial() -> Duration {
    Duration::from_secs(5)
}

fn default_max() -> Duration {
    Duration::from_secs(60)
}

fn default_multiplier() -> f64 {
    2.0
}

fn default_true() -> bool {
    true
}

/// Exponential backoff between attempts of a failed step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Total attempts including the first; 1 means no retry.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Delay before the second attempt.
    #[serde(default = "default_initial")]
    pub initial: Duration,
    /// Upper bound on any single delay.
    #[serde(default = "default_max")]
    pub max: Duration,
    /// Factor applied to the delay after each attempt.
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
    /// Randomizes each delay between half and all of its value.
    #[serde(default = "default_true")]
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: default_attempts(),
            initial: default_initial(),
            max: default_max(),
            multiplier: default_multiplier(),
            jitter: true,
        }
    }
}

fn default_modes() -> Vec<Mode> {
    vec![Mode::Drill]
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// The top level of a playbook file. `variables` and `steps` are decoded entry
/// by entry, so that one bad entry does not hide errors in the others.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookDoc {
    /// Format version; must be 1.
    pub version: u32,
    /// Short name used in reports and run ids.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Modes this playbook may run in. Default: `[drill]`.
    #[serde(default = "default_modes")]
    pub modes: Vec<Mode>,
    /// Recovery time objective.
    #[serde(default)]
    pub rto: Option<Objective>,
    /// Recovery point objective.
    #[serde(default)]
    pub rpo: Option<Objective>,
    pub regions: Regions,
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Variable>")]
    pub variables: IndexMap<String, serde_json::Value>,
    /// Resources no step may modify, delete, repoint or write.
    #[serde(default)]
    pub protected: Vec<ProtectedResource>,
    #[schemars(with = "Vec<StepDoc>")]
    pub steps: Vec<serde_json::Value>,
}

/// One step as written in the file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    /// Unique id: lowercase letters, digits, `-` and `_`, starting with a letter.
    pub id: String,
    /// Step kind, such as `aurora.restore_pitr`.
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Steps that must succeed before this one starts.
    #[serde(default)]
    pub needs: Vec<String>,
    /// A `${{ }}` bool expression; the step is skipped when it is false.
    #[serde(default)]
    pub when: Option<String>,
    /// Maximum run time of one attempt. Default: 1h.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Time budget, compared with the RTO target along the critical path.
    #[serde(default)]
    pub budget: Option<Duration>,
    /// Expected duration, used by the RTO forecast.
    #[serde(default)]
    pub expected: Option<Duration>,
    /// Retry policy. Default: one attempt.
    #[serde(default)]
    pub retry: Option<RetryPolicy>,
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Cleanup step: runs after success, failure, timeout or interruption.
    #[serde(default)]
    pub always: bool,
    #[serde(default)]
    pub approval: Approval,
    /// Named outputs computed from `${{ }}` expressions.
    #[serde(default)]
    pub outputs: IndexMap<String, String>,
    /// Kind-specific parameters.
    #[serde(default = "empty_object")]
    pub params: serde_json::Value,
}

/// A loaded, checked playbook.
#[derive(Debug, Clone, Serialize)]
pub struct Playbook {
    /// Path the playbook was loaded from, as given.
    pub file: String,
    /// Hex SHA-256 of the file bytes; a resumed run must see the same hash.
    pub hash: String,
    pub name: String,
    pub description: Option<String>,
    pub modes: Vec<Mode>,
    pub rto: Option<Objective>,
    pub rpo: Option<Objective>,
    pub regions: Regions,
    pub variables: IndexMap<String, Variable>,
    /// Effective variable values (defaults, then vars file, then `--var`), as JSON
    /// in the form described in [`crate::expr::value`].
    pub vars: IndexMap<String, serde_json::Value>,
    pub protected: Vec<ProtectedResource>,
    /// Steps in file order.
    pub steps: Vec<Step>,
}

impl Playbook {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }

    pub fn allows(&self, mode: Mode) -> bool {
        self.modes.contains(&mode)
    }
}

/// A loaded, checked step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: String,
    pub kind: String,
    pub description: Option<String>,
    pub needs: Vec<String>,
    /// The raw `when` string, a single `${{ }}` bool expression.
    pub when: Option<String>,
    pub timeout: Duration,
    pub budget: Option<Duration>,
    pub expected: Option<Duration>,
    pub retry: RetryPolicy,
    pub on_failure: OnFailure,
    pub always: bool,
    pub approval: Approval,
    /// Named outputs as raw strings with `${{ }}` expressions.
    pub outputs: IndexMap<String, String>,
    /// Params as written, with `${{ }}` expressions unresolved.
    pub params: serde_json::Value,
    /// Resources the step would change, with variables and regions resolved;
    /// run-time values stay as `${{ }}` text.
    pub effects: Vec<PlannedEffect>,
    /// Types of every output later steps may read: the kind's outputs, then
    /// the named `outputs`.
    pub output_types: IndexMap<String, ValueType>,
}

impl Step {
    /// Returns the kind's registry entry. Loading guarantees that the kind exists,
    /// so this panics only for a `Step` built by hand with an unknown kind.
    pub fn kind_info(&self) -> &'static KindInfo {
        crate::kinds::lookup(&self.kind).unwrap_or_else(|| {
            panic!(
                "step '{}' has kind '{}' that loading accepted but the registry lacks",
                self.id, self.kind
            )
        })
    }

    /// True when the step waits for approval in `mode` (see [`Approval`]).
    pub fn requires_approval(&self, mode: Mode) -> bool {
        match self.approval {
            Approval::Required => true,
            Approval::None => false,
            Approval::Auto => mode == Mode::Incident && self.kind_info().destructive,
        }
    }
}

/// A resource a step would change, as far as it can be known before the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedEffect {
    pub action: EffectAction,
    pub resource_type: String,
    /// Id with variables, regions and run mode substituted; other expressions
    /// (run id, step outputs, times) remain as `${{ }}` text.
    pub id: String,
    pub region: Option<String>,
    /// The action checks drctl's ownership tags, so it only changes what drctl created.
    pub owned_only: bool,
    /// The id is built from `run.id` or from an output of an earlier step, so
    /// it names a resource this run created.
    pub run_scoped: bool,
}

impl PlannedEffect {
    /// True for actions that change an existing resource.
    pub fn mutates(&self) -> bool {
        !matches!(self.action, EffectAction::Create)
    }
}
