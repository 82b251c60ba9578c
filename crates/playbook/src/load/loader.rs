//! Loading a playbook: parse, decode, check, and build the [`Playbook`].
//!
//! Every check runs even after others failed, as far as its inputs exist, and
//! the diagnostics are reported in a fixed order of phases (see [`Phase`]),
//! then by position. A phase is skipped only when an earlier error makes its
//! result meaningless: expressions and params are not checked while the
//! dependency graph has a cycle, because "depends on" is then undefined.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::decode::decode_all;
use super::expressions::StepExpressions;
use super::names::{Names, StaticEnv, StepScope};
use super::overrides::{OverrideValue, Overrides};
use super::safety;
use crate::diagnostic::{Diagnostic, Severity, suggestion_help};
use crate::document::{Document, escape_pointer};
use crate::expr::Value;
use crate::graph::Graph;
use crate::kinds::{self, ValueType};
use crate::model::{
    DEFAULT_TIMEOUT, FORMAT_VERSION, Playbook, PlaybookDoc, Regions, Step, StepDoc, Variable,
};

/// Settings for one load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub overrides: Overrides,
    /// When true (the default, for runs), a variable without a default and
    /// without an override is an error. `drctl validate` may set it to false
    /// to check a playbook whose variables are only given at run time. Such
    /// variables then count as unknown until the run.
    pub require_variable_values: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            overrides: Overrides::new(),
            require_variable_values: true,
        }
    }
}

/// The result of loading: the playbook when there is no error, and every
/// diagnostic (errors and warnings) in report order.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub playbook: Option<Playbook>,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadReport {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// Returns the exit code of `drctl validate` for this playbook:
    /// [`crate::EXIT_INVALID`] when there is an error, else [`crate::EXIT_VALID`].
    pub fn exit_code(&self) -> i32 {
        if self.has_errors() { crate::EXIT_INVALID } else { crate::EXIT_VALID }
    }

    /// Renders every diagnostic, separated by blank lines.
    pub fn render(&self, color: bool) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(color))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The order in which diagnostics are reported. Earlier phases report causes
/// (a misspelt key), later ones consequences (a name that the key would define).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Structure,
    DuplicateSteps,
    Kinds,
    Needs,
    Cycles,
    Variables,
    Expressions,
    Params,
    Safety,
    Warnings,
}

struct Collector {
    entries: Vec<(Phase, Diagnostic)>,
}

impl Collector {
    fn push(&mut self, phase: Phase, diagnostic: Diagnostic) {
        self.entries.push((phase, diagnostic));
    }

    fn extend(&mut self, phase: Phase, diagnostics: Vec<Diagnostic>) {
        self.entries
            .extend(diagnostics.into_iter().map(|d| (phase, d)));
    }

    fn has_errors(&self) -> bool {
        self.entries.iter().any(|(_, d)| d.is_error())
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        self.entries
            .sort_by_key(|(phase, d)| (!d.is_error(), *phase, d.line, d.col));
        self.entries.into_iter().map(|(_, d)| d).collect()
    }
}

/// Reads and loads the playbook at `path`.
pub fn load_file(path: &Path, options: &LoadOptions) -> LoadReport {
    let file = path.display().to_string();
    let failed = |message: String, help: &str| LoadReport {
        playbook: None,
        diagnostics: vec![
            Diagnostic::unlocated(Severity::Error, "io", &file, message).with_help(help),
        ],
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            return failed(
                format!("cannot read playbook '{file}': {error}"),
                "check the path",
            );
        }
    };
    match String::from_utf8(bytes) {
        Ok(source) => load_str(&file, &source, options),
        Err(error) => failed(
            format!(
                "playbook '{file}' is not valid UTF-8 (byte {})",
                error.utf8_error().valid_up_to()
            ),
            "save the file as UTF-8",
        ),
    }
}

/// Loads a playbook from `source`; `file` names it in diagnostics.
pub fn load_str(file: &str, source: &str, options: &LoadOptions) -> LoadReport {
    let hash = hex::encode(Sha256::digest(source.as_bytes()));
    let document = match Document::parse(file, source) {
        Ok(document) => document,
        Err(diagnostic) => {
            return LoadReport {
                playbook: None,
                diagnostics: vec![diagnostic],
            };
        }
    };
    let mut collector = Collector {
        entries: Vec::new(),
    };
    let playbook = Loader {
        document: &document,
        options,
        collector: &mut collector,
    }
    .run(hash);
    let has_errors = collector.has_errors();
    LoadReport {
        playbook: playbook.filter(|_| !has_errors),
        diagnostics: collector.finish(),
    }
}

struct Loader<'a> {
    document: &'a Document,
    options: &'a LoadOptions,
    collector: &'a mut Collector,
}

/// A step that decoded, with its index in the file.
struct DecodedStep {
    index: usize,
    doc: StepDoc,
}

impl Loader<'_> {
    fn run(mut self, hash: String) -> Option<Playbook> {
        let root = self.document.root.clone();

        // Top level: unknown keys and wrong types. Steps and variables are
        // decoded one by one below, so a bad entry does not hide the others.
        let (top, errors) = decode_all::<PlaybookDoc>(self.document, "", &root, "the playbook");
        self.collector.extend(Phase::Structure, errors);
        if let Some(top) = &top {
            self.check_top_level(top);
        }
        let regions = top.as_ref().map(|t| t.regions.clone()).or_else(|| {
            root.get("regions")
                .and_then(|r| serde_json::from_value::<Regions>(r.clone()).ok())
        });

        let variables = self.decode_variables(&root);
        let steps = self.decode_steps(&root);

        // Graph checks.
        let ids: Vec<String> = steps.iter().map(|s| s.doc.id.clone()).collect();
        self.check_duplicates(&steps);
        self.check_kinds(&steps);
        let graph = self.build_graph(&steps, &raw_step_ids(&root));
        let cycle = graph.find_cycle();
        if let Some(cycle) = &cycle {
            self.report_cycle(&steps, cycle);
        }

        // Variable values: defaults, then overrides.
        let values = self.resolve_variables(&variables);
        let regions = regions?;

        if cycle.is_some() {
            return None;
        }
        let built = self.check_steps(&steps, &ids, &graph, &variables, &values, &regions);
        let top = top?;

        let playbook = Playbook {
            file: self.document.file.clone(),
            hash,
            name: top.name,
            description: top.description,
            modes: top.modes,
            rto: top.rto,
            rpo: top.rpo,
            regions,
            variables: variables
                .iter()
                .map(|(k, (_, v))| (k.clone(), v.clone()))
                .collect(),
            vars: values
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
            protected: top.protected,
            steps: built,
        };

        let safety_errors = safety::check(
            self.document,
            &playbook,
            &steps.iter().map(|s| s.index).collect::<Vec<_>>(),
            &values,
        );
        self.collector.extend(Phase::Safety, safety_errors);
        let budget_warnings = safety::check_budgets(self.document, &playbook);
        self.collector.extend(Phase::Warnings, budget_warnings);
        Some(playbook)
    }

    fn error(
        &mut self,
        phase: Phase,
        code: &'static str,
        pointer: &str,
        key: bool,
        message: String,
        help: Option<String>,
    ) {
        let position = self.document.locate(pointer, key);
        let diagnostic = self.document.error_at(code, position, message, help);
        self.collector.push(phase, diagnostic);
    }

    fn check_top_level(&mut self, top: &PlaybookDoc) {
        if top.version != FORMAT_VERSION {
            self.error(
                Phase::Structure,
                "invalid-value",
                "/version",
                false,
                format!("unsupported playbook version {}", top.version),
                Some(format!(
                    "this drctl reads version {FORMAT_VERSION}; write 'version: {FORMAT_VERSION}'"
                )),
            );
        }
        if top.modes.is_empty() {
            self.error(
                Phase::Structure,
                "invalid-value",
                "/modes",
                false,
                "'modes' is empty, so the playbook could never run".to_string(),
                Some("list at least one of drill, incident".to_string()),
            );
        }
        for (name, objective) in [("rto", &top.rto), ("rpo", &top.rpo)] {
            if let Some(objective) = objective
                && let Some(warning) = objective.warning
                && warning > objective.target
            {
                self.error(
                    Phase::Structure,
                    "invalid-value",
                    &format!("/{name}/warning"),
                    false,
                    format!(
                        "{name} warning {warning} is later than its target {}",
                        objective.target
                    ),
                    Some("the warning threshold must not exceed the target".to_string()),
                );
            }
        }
        if top.steps.is_empty() {
            self.error(
                Phase::Structure,
                "invalid-value",
                "/steps",
                true,
                "'steps' is empty".to_string(),
                Some("add at least one step".to_string()),
            );
        }
    }

    fn decode_variables(
        &mut self,
        root: &serde_json::Value,
    ) -> IndexMap<String, (ValueType, Variable)> {
        let mut variables = IndexMap::new();
        let Some(serde_json::Value::Object(entries)) = root.get("variables") else {
            return variables;
        };
        for (name, raw) in entries {
            let pointer = format!("/variables/{}", escape_pointer(name));
            if !is_identifier(name) {
                self.error(
                    Phase::Structure,
                    "invalid-name",
                    &pointer,
                    true,
                    format!("invalid variable name '{name}'"),
                    Some("use letters, digits and '_', starting with a letter or '_'".to_string()),
                );
                continue;
            }
            let (decoded, errors) =
                decode_all::<Variable>(self.document, &pointer, raw, &format!("variable '{name}'"));
            self.collector.extend(Phase::Structure, errors);
            if let Some(variable) = decoded {
                variables.insert(name.clone(), (variable.ty.value_type(), variable));
            }
        }
        variables
    }

    fn decode_steps(&mut self, root: &serde_json::Value) -> Vec<DecodedStep> {
        let mut steps = Vec::new();
        let Some(serde_json::Value::Array(raw_steps)) = root.get("steps") else {
            return steps;
        };
        for (index, raw) in raw_steps.iter().enumerate() {
            let pointer = format!("/steps/{index}");
            let context = match raw.get("id").and_then(|id| id.as_str()) {
                Some(id) => format!("step '{id}'"),
                None => format!("step #{}", index + 1),
            };
            let (decoded, errors) = decode_all::<StepDoc>(self.document, &pointer, raw, &context);
            self.collector.extend(Phase::Structure, errors);
            let Some(doc) = decoded else {
                continue;
            };
            if !is_step_id(&doc.id) {
                self.error(
                    Phase::Structure,
                    "invalid-name",
                    &format!("{pointer}/id"),
                    false,
                    format!("invalid step id '{}'", doc.id),
                    Some("use letters, digits, '-' and '_', starting with a letter and not ending with '-'".to_string()),
                );
            }
            steps.push(DecodedStep { index, doc });
        }
        steps
    }

    fn check_duplicates(&mut self, steps: &[DecodedStep]) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for step in steps {
            match first.get(step.doc.id.as_str()) {
                Some(&earlier) => {
                    let line = self
                        .document
                        .locate(&format!("/steps/{earlier}/id"), false)
                        .line;
                    self.error(
                        Phase::DuplicateSteps,
                        "duplicate-step",
                        &format!("/steps/{}/id", step.index),
                        false,
                        format!("duplicate step id '{}'", step.doc.id),
                        Some(format!(
                            "step ids must be unique; '{}' is first defined on line {line}",
                            step.doc.id
                        )),
                    );
                }
                None => {
                    first.insert(&step.doc.id, step.index);
                }
            }
        }
    }

    fn check_kinds(&mut self, steps: &[DecodedStep]) {
        let names: Vec<&str> = kinds::all().iter().map(|k| k.name).collect();
        for step in steps {
            if kinds::lookup(&step.doc.kind).is_none() {
                self.error(
                    Phase::Kinds,
                    "unknown-kind",
                    &format!("/steps/{}/kind", step.index),
                    false,
                    format!("unknown step kind '{}'", step.doc.kind),
                    Some(suggestion_help(&step.doc.kind, &names, "kinds")),
                );
            }
        }
    }

    /// Builds the graph over decoded steps (positions in `steps`), reporting
    /// unknown `needs`. Duplicate ids resolve to their first definition. A need
    /// naming a step in `raw_ids` that failed to decode is not reported again.
    fn build_graph(&mut self, steps: &[DecodedStep], raw_ids: &HashSet<String>) -> Graph {
        let mut position: HashMap<&str, usize> = HashMap::new();
        for (i, step) in steps.iter().enumerate() {
            position.entry(step.doc.id.as_str()).or_insert(i);
        }
        let ids: Vec<&str> = steps.iter().map(|s| s.doc.id.as_str()).collect();
        let mut edges = Vec::with_capacity(steps.len());
        for step in steps {
            let mut needs = Vec::new();
            for (n, need) in step.doc.needs.iter().enumerate() {
                match position.get(need.as_str()) {
                    Some(&target) => needs.push(target),
                    None if raw_ids.contains(need) => {}
                    None => {
                        let others: Vec<&str> = ids
                            .iter()
                            .copied()
                            .filter(|id| *id != step.doc.id)
                            .collect();
                        self.error(
                            Phase::Needs,
                            "unknown-need",
                            &format!("/steps/{}/needs/{n}", step.index),
                            false,
                            format!("step '{}' needs unknown step '{need}'", step.doc.id),
                            Some(suggestion_help(need, &others, "steps")),
                        );
                    }
                }
            }
            edges.push(needs);
        }
        Graph::new(edges)
    }

    fn report_cycle(&mut self, steps: &[DecodedStep], cycle: &[usize]) {
        let path: Vec<&str> = cycle.iter().map(|&i| steps[i].doc.id.as_str()).collect();
        let first = &steps[cycle[0]];
        let pointer = match first
            .doc
            .needs
            .iter()
            .position(|n| n == path.get(1).copied().unwrap_or_default())
        {
            Some(n) => format!("/steps/{}/needs/{n}", first.index),
            None => format!("/steps/{}/needs", first.index),
        };
        self.error(
            Phase::Cycles,
            "dependency-cycle",
            &pointer,
            false,
            format!("dependency cycle: {}", path.join(" -> ")),
            Some("remove one of these 'needs' entries so the steps can run in order".to_string()),
        );
    }

    fn resolve_variables(
        &mut self,
        variables: &IndexMap<String, (ValueType, Variable)>,
    ) -> IndexMap<String, Value> {
        let mut values = IndexMap::new();
        // Variables with a reported bad value, so they are not also reported as missing.
        let mut invalid: HashSet<&str> = HashSet::new();
        for (name, (ty, variable)) in variables {
            if let Some(default) = &variable.default {
                match Value::from_json(*ty, default) {
                    Ok(value) => {
                        values.insert(name.clone(), value);
                    }
                    Err(reason) => {
                        invalid.insert(name);
                        self.error(
                            Phase::Variables,
                            "invalid-default",
                            &format!("/variables/{}/default", escape_pointer(name)),
                            false,
                            format!("invalid default for variable '{name}': {reason}"),
                            Some(format!(
                                "give a {} value or change the variable's type",
                                crate::expr::value::type_name(*ty)
                            )),
                        );
                    }
                }
            }
        }

        let names: Vec<&str> = variables.keys().map(String::as_str).collect();
        for entry in self.options.overrides.in_precedence_order() {
            let mut diagnostic = entry.origin.clone();
            let Some((name, (ty, _))) = variables.get_key_value(&entry.name) else {
                diagnostic.message =
                    format!("unknown variable '{}' in {}", entry.name, entry.described);
                diagnostic.help = Some(suggestion_help(&entry.name, &names, "variables"));
                self.collector.push(Phase::Variables, diagnostic);
                continue;
            };
            let parsed = match &entry.value {
                OverrideValue::Text(text) => Value::from_text(*ty, text),
                OverrideValue::Json(json) => Value::from_json(*ty, json),
            };
            match parsed {
                Ok(value) => {
                    values.insert(entry.name.clone(), value);
                }
                Err(reason) => {
                    invalid.insert(name);
                    let declared = self
                        .document
                        .locate(&format!("/variables/{}", escape_pointer(&entry.name)), true);
                    diagnostic.message = format!(
                        "invalid value for variable '{}' from {}: {reason}",
                        entry.name, entry.described
                    );
                    diagnostic.help = Some(format!(
                        "variable '{}' is declared as {} at {}:{}",
                        entry.name,
                        crate::expr::value::type_name(*ty),
                        self.document.file,
                        declared.line
                    ));
                    self.collector.push(Phase::Variables, diagnostic);
                }
            }
        }

        if self.options.require_variable_values {
            for name in variables.keys() {
                if !values.contains_key(name) && !invalid.contains(name.as_str()) {
                    self.error(
                        Phase::Variables,
                        "missing-variable",
                        &format!("/variables/{}", escape_pointer(name)),
                        true,
                        format!("variable '{name}' has no value"),
                        Some(format!(
                            "pass --var {name}=VALUE or --vars-file, or add a 'default'"
                        )),
                    );
                }
            }
        }
        values
    }

    /// Checks expressions and params of every step in dependency order, and
    /// builds the loaded steps in file order.
    fn check_steps(
        &mut self,
        steps: &[DecodedStep],
        ids: &[String],
        graph: &Graph,
        variables: &IndexMap<String, (ValueType, Variable)>,
        values: &IndexMap<String, Value>,
        regions: &Regions,
    ) -> Vec<Step> {
        let variable_types: IndexMap<String, ValueType> = variables
            .iter()
            .map(|(k, (ty, _))| (k.clone(), *ty))
            .collect();
        let known = StaticEnv {
            vars: values,
            primary_region: &regions.primary,
            backup_region: regions.backup.as_deref(),
            mode: None,
        };

        // Output types grow in dependency order, because a named output's
        // type is the type of its expression, which may read earlier outputs.
        let mut output_types: HashMap<String, IndexMap<String, ValueType>> = HashMap::new();
        let mut built: Vec<Option<Step>> = vec![None; steps.len()];
        for &node in &graph.topological_order() {
            let step = &steps[node];
            let pointer = format!("/steps/{}", step.index);
            let kind_outputs: IndexMap<String, ValueType> = kinds::lookup(&step.doc.kind)
                .map(|k| {
                    k.outputs
                        .iter()
                        .map(|o| (o.name.to_string(), o.ty))
                        .collect()
                })
                .unwrap_or_default();
            let ancestors: HashSet<String> = graph
                .ancestors(node)
                .into_iter()
                .map(|i| steps[i].doc.id.clone())
                .collect();

            // Scope for params and `when`: ancestors only. Output types of
            // steps not yet visited are absent, but those steps are not
            // ancestors, so the scope reports them as such.
            let mut visible = output_types.clone();
            for id in ids {
                visible.entry(id.clone()).or_default();
            }
            let names = Names {
                variables: &variable_types,
                has_backup_region: regions.backup.is_some(),
                outputs: &visible,
                step_ids: ids,
            };
            let scope = StepScope {
                names: &names,
                step_id: &step.doc.id,
                ancestors: &ancestors,
                own_outputs: None,
            };
            let mut checker = StepExpressions::new(self.document, &scope, &known);
            if let Some(when) = &step.doc.when {
                checker.check_condition(&format!("{pointer}/when"), when);
            }
            let substituted = checker.substitute(&format!("{pointer}/params"), &step.doc.params);
            let mut expression_errors = std::mem::take(&mut checker.diagnostics);
            let effects = match kinds::lookup(&step.doc.kind) {
                Some(kind) => checker.check_params(
                    kind,
                    &format!("{pointer}/params"),
                    substituted,
                    &step.doc.id,
                ),
                None => None,
            };
            let param_errors = std::mem::take(&mut checker.diagnostics);

            // Named outputs may also read the step's own kind outputs.
            let own_scope = StepScope {
                own_outputs: Some(&kind_outputs),
                ..scope
            };
            let mut own_checker = StepExpressions::new(self.document, &own_scope, &known);
            let mut all_outputs = kind_outputs.clone();
            for (name, text) in &step.doc.outputs {
                let output_pointer = format!("{pointer}/outputs/{}", escape_pointer(name));
                if !is_identifier(name) {
                    expression_errors.push(
                        self.document.error_at(
                            "invalid-name",
                            self.document.locate(&output_pointer, true),
                            format!("invalid output name '{name}'"),
                            Some(
                                "use letters, digits and '_', starting with a letter or '_'"
                                    .to_string(),
                            ),
                        ),
                    );
                    continue;
                }
                if let Some((_, ty)) = own_checker.check_string(&output_pointer, text) {
                    all_outputs.insert(name.clone(), ty);
                }
            }
            expression_errors.extend(own_checker.diagnostics);
            self.collector.extend(Phase::Expressions, expression_errors);
            self.collector.extend(Phase::Params, param_errors);
            output_types.insert(step.doc.id.clone(), all_outputs);

            built[node] = Some(Step {
                id: step.doc.id.clone(),
                kind: step.doc.kind.clone(),
                description: step.doc.description.clone(),
                needs: step.doc.needs.clone(),
                when: step.doc.when.clone(),
                timeout: step.doc.timeout.unwrap_or(DEFAULT_TIMEOUT),
                budget: step.doc.budget,
                expected: step.doc.expected,
                retry: step.doc.retry.unwrap_or_default(),
                on_failure: step.doc.on_failure,
                always: step.doc.always,
                approval: step.doc.approval,
                outputs: step.doc.outputs.clone(),
                params: step.doc.params.clone(),
                effects: effects.unwrap_or_default(),
                output_types: output_types.get(&step.doc.id).cloned().unwrap_or_default(),
            });
            self.check_retry(step);
        }
        built.into_iter().flatten().collect()
    }

    fn check_retry(&mut self, step: &DecodedStep) {
        let Some(retry) = &step.doc.retry else {
            return;
        };
        let pointer = format!("/steps/{}/retry", step.index);
        if retry.attempts == 0 {
            self.error(
                Phase::Structure,
                "invalid-value",
                &format!("{pointer}/attempts"),
                false,
                "retry attempts must be at least 1".to_string(),
                Some("attempts counts the first try; use 1 for no retry".to_string()),
            );
        }
        if !(retry.multiplier.is_finite() && retry.multiplier >= 1.0) {
            self.error(
                Phase::Structure,
                "invalid-value",
                &format!("{pointer}/multiplier"),
                false,
                format!(
                    "retry multiplier {} must be a number of at least 1.0",
                    retry.multiplier
                ),
                None,
            );
        }
        if retry.initial > retry.max {
            self.error(
                Phase::Structure,
                "invalid-value",
                &format!("{pointer}/initial"),
                false,
                format!(
                    "retry initial delay {} exceeds the max delay {}",
                    retry.initial, retry.max
                ),
                None,
            );
        }
    }
}

/// Returns the `id` strings of every entry under `steps`, decoded or not.
fn raw_step_ids(root: &serde_json::Value) -> HashSet<String> {
    root.get("steps")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|step| step.get("id")?.as_str().map(str::to_string))
        .collect()
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_step_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !id.ends_with('-')
}
