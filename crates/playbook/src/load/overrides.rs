//! Variable overrides from `--var name=value` flags and `--vars-file` files.
//!
//! Precedence, lowest first: the variable's `default`, then vars files in the
//! order given, then `--var` flags in the order given. Overrides are checked
//! against the playbook's declarations when the playbook is loaded, so one
//! `Overrides` value can be reused for several playbooks.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Severity};
use crate::document::Document;

/// Variable values given on the command line or in vars files.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    files: Vec<Override>,
    flags: Vec<Override>,
}

/// One overriding value with its origin, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Override {
    pub name: String,
    pub value: OverrideValue,
    /// A diagnostic located at the override; the loader fills in the message.
    pub origin: Diagnostic,
    /// Name of the origin in messages: `--var min_acu=abc` or `vars file 'vars.yaml'`.
    pub described: String,
}

#[derive(Debug, Clone)]
pub(crate) enum OverrideValue {
    /// Text from a flag, parsed by the variable's declared type.
    Text(String),
    /// A YAML or JSON value from a vars file.
    Json(serde_json::Value),
}

impl Overrides {
    pub fn new() -> Overrides {
        Overrides::default()
    }

    /// Adds one `--var name=value` argument (without the `--var`).
    pub fn add_flag(&mut self, argument: &str) -> Result<(), Diagnostic> {
        let Some((name, value)) = argument.split_once('=') else {
            return Err(Diagnostic::unlocated(
                Severity::Error,
                "invalid-override",
                "--var",
                format!("invalid --var '{argument}': expected NAME=VALUE"),
            )
            .with_help("write for example --var min_acu=0.5"));
        };
        let name = name.trim();
        self.flags.push(Override {
            name: name.to_string(),
            value: OverrideValue::Text(value.to_string()),
            origin: Diagnostic::unlocated(
                Severity::Error,
                "invalid-override",
                "--var",
                String::new(),
            ),
            described: format!("--var {name}={value}"),
        });
        Ok(())
    }

    /// Reads a vars file: a YAML or JSON mapping of variable names to values.
    pub fn add_file(&mut self, path: &Path) -> Result<(), Diagnostic> {
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|error| {
            Diagnostic::unlocated(
                Severity::Error,
                "io",
                &file,
                format!("cannot read vars file '{file}': {error}"),
            )
            .with_help("check the path given to --vars-file")
        })?;
        self.add_file_source(&file, &source)
    }

    /// Adds the variables of a vars file already read into `source`.
    pub fn add_file_source(&mut self, file: &str, source: &str) -> Result<(), Diagnostic> {
        let document = Document::parse(file, source)?;
        let serde_json::Value::Object(entries) = &document.root else {
            return Err(Diagnostic::unlocated(
                Severity::Error,
                "invalid-override",
                file,
                format!("vars file '{file}' must be a mapping of variable names to values"),
            ));
        };
        for (name, value) in entries {
            let pointer = format!("/{}", crate::document::escape_pointer(name));
            let origin = document.error_at(
                "invalid-override",
                document.locate(&pointer, true),
                String::new(),
                None,
            );
            self.files.push(Override {
                name: name.clone(),
                value: OverrideValue::Json(value.clone()),
                origin,
                described: format!("vars file '{file}'"),
            });
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.flags.is_empty()
    }

    /// Overrides in the order they apply: files first, then flags.
    pub(crate) fn in_precedence_order(&self) -> impl Iterator<Item = &Override> {
        self.files.iter().chain(self.flags.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_without_equals_is_rejected() {
        let error = Overrides::new().add_flag("min_acu").unwrap_err();
        assert_eq!(
            error.message,
            "invalid --var 'min_acu': expected NAME=VALUE"
        );
        assert_eq!(error.file, "--var");
    }

    #[test]
    fn flags_apply_after_files() {
        let mut overrides = Overrides::new();
        overrides.add_flag("a=1").unwrap();
        overrides
            .add_file_source("vars.yaml", "a: 2\nb: x\n")
            .unwrap();
        let order: Vec<_> = overrides
            .in_precedence_order()
            .map(|o| o.described.clone())
            .collect();
        assert_eq!(
            order,
            vec![
                "vars file 'vars.yaml'",
                "vars file 'vars.yaml'",
                "--var a=1"
            ]
        );
    }

    #[test]
    fn vars_file_entries_are_located() {
        let mut overrides = Overrides::new();
        overrides
            .add_file_source("vars.yaml", "a: 1\nregion: x\n")
            .unwrap();
        let second = overrides.in_precedence_order().nth(1).unwrap();
        assert_eq!((second.origin.line, second.origin.col), (Some(2), Some(1)));
    }
}
