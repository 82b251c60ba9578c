//! Invalid playbooks, one per check, asserting the code, line, column and
//! message of every diagnostic.

use drctl_playbook::{Diagnostic, LoadOptions, Overrides, Severity, load_str};

const HEADER: &str = "version: 1
name: t
modes: [drill]
regions: { primary: eu-west-2, backup: us-east-1 }
";

/// Returns a valid snapshot step named `id`, at 2-space list indentation.
fn snapshot(id: &str) -> String {
    format!(
        "  - id: {id}
    kind: aurora.snapshot
    params:
      cluster: dsit-litellm-rds-pg-prod
      region: eu-west-2
      snapshot_id: \"pre-${{{{ run.id }}}}\"
"
    )
}

fn load(source: &str, options: &LoadOptions) -> Vec<Diagnostic> {
    let report = load_str("p.yaml", source, options);
    assert_eq!(
        report.playbook.is_some(),
        !report.has_errors(),
        "a playbook is returned exactly when there is no error"
    );
    report.diagnostics
}

/// (code, line, col, message) of each diagnostic, with unlocated ones at 0:0.
fn summary(diagnostics: &[Diagnostic]) -> Vec<(&'static str, usize, usize, String)> {
    diagnostics
        .iter()
        .map(|d| {
            (
                d.code,
                d.line.unwrap_or(0),
                d.col.unwrap_or(0),
                d.message.clone(),
            )
        })
        .collect()
}

struct Case {
    name: &'static str,
    source: String,
    expected: Vec<(&'static str, usize, usize, &'static str)>,
    /// A fragment the first diagnostic's help must contain.
    help: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "yaml syntax",
            source: format!("{HEADER}steps: [\n"),
            expected: vec![(
                "yaml-syntax",
                6,
                1,
                "invalid YAML: while parsing a node, did not find expected node content",
            )],
            help: "fix the YAML syntax",
        },
        Case {
            name: "unknown top-level key",
            source: format!("{HEADER}stpes:\n{}", snapshot("a")),
            expected: vec![
                (
                    "missing-key",
                    1,
                    1,
                    "the playbook is missing the required key 'steps'",
                ),
                ("unknown-key", 5, 1, "unknown key 'stpes' in the playbook"),
            ],
            help: "add 'steps: ...'",
        },
        Case {
            name: "unknown step key",
            source: format!("{HEADER}steps:\n{}    neds: [x]\n", snapshot("a")),
            expected: vec![("unknown-key", 12, 5, "unknown key 'neds' in step 'a'")],
            help: "did you mean 'needs'?",
        },
        Case {
            name: "invalid duration",
            source: format!("{HEADER}steps:\n{}    timeout: 15 minutes\n", snapshot("a")),
            expected: vec![(
                "invalid-duration",
                12,
                14,
                "invalid 'timeout' in step 'a': ",
            )],
            help: "90s, 15m or 1h30m",
        },
        Case {
            name: "wrong type names the expected type",
            source: format!("{HEADER}steps:\n{}    always: maybe\n", snapshot("a")),
            expected: vec![(
                "invalid-type",
                12,
                13,
                "invalid 'always' in step 'a': found string \"maybe\", expected a boolean",
            )],
            help: "",
        },
        Case {
            name: "duplicate step id",
            source: format!("{HEADER}steps:\n{}{}", snapshot("a"), snapshot("a")),
            expected: vec![("duplicate-step", 12, 9, "duplicate step id 'a'")],
            help: "first defined on line 6",
        },
        Case {
            name: "unknown kind",
            source: format!(
                "{HEADER}steps:\n{}",
                snapshot("a").replace("aurora.snapshot", "aurora.snapshto")
            ),
            expected: vec![("unknown-kind", 7, 11, "unknown step kind 'aurora.snapshto'")],
            help: "did you mean 'aurora.snapshot'? valid kinds: 'aurora.restore_pitr'",
        },
        Case {
            name: "unknown needs",
            source: format!(
                "{HEADER}steps:\n{}{}    needs: [aa]\n",
                snapshot("a"),
                snapshot("b")
            ),
            expected: vec![("unknown-need", 18, 13, "step 'b' needs unknown step 'aa'")],
            help: "did you mean 'a'?",
        },
        Case {
            name: "dependency cycle",
            source: format!(
                "{HEADER}steps:\n{}    needs: [b]\n{}    needs: [a]\n",
                snapshot("a"),
                snapshot("b").replace("pre-", "b-")
            ),
            expected: vec![("dependency-cycle", 12, 13, "dependency cycle: a -> b -> a")],
            help: "remove one of these 'needs'",
        },
        Case {
            name: "missing param",
            source: format!(
                "{HEADER}steps:\n{}",
                snapshot("a").replace("      cluster: dsit-litellm-rds-pg-prod\n", "")
            ),
            expected: vec![(
                "missing-param",
                8,
                5,
                "step 'a' (kind 'aurora.snapshot') is missing the required param 'cluster'",
            )],
            help: "add 'cluster: ...' under params",
        },
        Case {
            name: "unknown param",
            source: format!("{HEADER}steps:\n{}      clustr: x\n", snapshot("a")),
            expected: vec![(
                "unknown-param",
                12,
                7,
                "unknown param 'clustr' for step 'a' (kind 'aurora.snapshot')",
            )],
            help: "did you mean 'cluster'?",
        },
        Case {
            name: "unknown variable with suggestion",
            source: format!(
                "{HEADER}variables:\n  region: {{ type: string, default: eu-west-2 }}\nsteps:\n{}",
                snapshot("a").replace("region: eu-west-2", "region: \"${{ vars.regoin }}\"")
            ),
            expected: vec![("expression", 12, 20, "unknown variable 'vars.regoin'")],
            help: "did you mean 'region'?",
        },
        Case {
            name: "reference to a step that is not a dependency",
            source: format!(
                "{HEADER}steps:\n{}{}",
                snapshot("a"),
                snapshot("b").replace(
                    "\"pre-${{ run.id }}\"",
                    "\"${{ steps.a.outputs.snapshot_id }}-copy\""
                )
            ),
            expected: vec![(
                "expression",
                17,
                25,
                "step 'b' reads 'steps.a.outputs.snapshot_id' but does not depend on step 'a'",
            )],
            help: "add 'a' to the 'needs' of step 'b'",
        },
        Case {
            name: "unknown output of a dependency",
            source: format!(
                "{HEADER}steps:\n{}{}    needs: [a]\n",
                snapshot("a"),
                snapshot("b").replace(
                    "\"pre-${{ run.id }}\"",
                    "\"${{ steps.a.outputs.snapshot_ids }}\""
                )
            ),
            expected: vec![(
                "expression",
                17,
                25,
                "step 'a' has no output 'snapshot_ids'",
            )],
            help: "did you mean 'snapshot_id'?",
        },
        Case {
            name: "comparison of a string with an int",
            source: format!(
                "{HEADER}steps:\n{}    when: \"${{{{ run.mode == 3 }}}}\"\n",
                snapshot("a")
            ),
            expected: vec![(
                "expression",
                12,
                16,
                "operator '==' cannot combine string and int",
            )],
            help: "",
        },
        Case {
            name: "when must be a bool",
            source: format!(
                "{HEADER}steps:\n{}    when: \"${{{{ run.id }}}}\"\n",
                snapshot("a")
            ),
            expected: vec![(
                "expression-type",
                12,
                11,
                "'when' must be a bool expression, found string",
            )],
            help: "",
        },
        Case {
            name: "string output where the param needs a number",
            source: format!(
                "version: 1
name: t
modes: [incident]
regions: {{ primary: eu-west-2 }}
steps:
{}  - id: cut
    kind: alb.repoint
    needs: [a]
    params:
      region: eu-west-2
      targets:
        target_group: \"${{{{ steps.a.outputs.snapshot_id }}}}\"
        register:
          - {{ ip: 10.1.2.50, port: \"${{{{ steps.a.outputs.snapshot_arn }}}}\" }}
",
                snapshot("a")
            ),
            expected: vec![(
                "expression-type",
                20,
                36,
                "expression of type string does not fit param 'port' of step 'cut' (kind 'alb.repoint'): invalid type: string \"${{ steps.a.outputs.snapshot_arn }}\", expected i32",
            )],
            help: "",
        },
        Case {
            name: "invalid default for a variable",
            source: format!(
                "{HEADER}variables:\n  min_acu: {{ type: number, default: lots }}\nsteps:\n{}",
                snapshot("a")
            ),
            expected: vec![(
                "invalid-default",
                6,
                37,
                "invalid default for variable 'min_acu': expected number, found string 'lots'",
            )],
            help: "give a number value",
        },
        Case {
            name: "variable without a value",
            source: format!(
                "{HEADER}variables:\n  incident_at: {{ type: timestamp }}\nsteps:\n{}",
                snapshot("a")
            ),
            expected: vec![(
                "missing-variable",
                6,
                3,
                "variable 'incident_at' has no value",
            )],
            help: "pass --var incident_at=VALUE",
        },
        Case {
            name: "protected resource",
            source: format!(
                "version: 1
name: t
modes: [incident]
regions: {{ primary: eu-west-2 }}
protected:
  - {{ type: elbv2:target-group, id: dsit-litellm-tg-* }}
steps:
  - id: cut
    kind: alb.repoint
    params:
      region: eu-west-2
      targets: {{ target_group: dsit-litellm-tg-4000, register: [{{ ip: 10.1.2.50, port: 4000 }}] }}
"
            ),
            expected: vec![(
                "protected-resource",
                9,
                11,
                "step 'cut' would repoint protected elbv2:target-group 'dsit-litellm-tg-4000'",
            )],
            help: "matches the protected pattern 'dsit-litellm-tg-*'",
        },
        Case {
            name: "protected resource named by a variable",
            source: format!(
                "version: 1
name: t
modes: [incident]
regions: {{ primary: eu-west-2 }}
variables:
  state_bucket: {{ type: string, default: dsit-litellm-tfstate }}
protected:
  - {{ type: s3:object, id: dsit-litellm-tfstate/* }}
steps:
  - id: rollback
    kind: tfstate.rollback
    params:
      bucket: \"${{{{ vars.state_bucket }}}}\"
      key: litellm/prod/terraform.tfstate
      region: eu-west-2
      select: {{ version_id: abc }}
"
            ),
            expected: vec![(
                "protected-resource",
                11,
                11,
                "step 'rollback' would write protected s3:object 'dsit-litellm-tfstate/litellm/prod/terraform.tfstate'",
            )],
            help: "dsit-litellm-tfstate/*",
        },
        Case {
            name: "drill mutates what the run did not create",
            source: format!(
                "{HEADER}steps:
  - id: cut
    kind: alb.repoint
    params:
      region: eu-west-2
      targets: {{ target_group: some-tg, register: [{{ ip: 10.1.2.50, port: 4000 }}] }}
"
            ),
            expected: vec![(
                "drill-mutation",
                7,
                11,
                "in drill mode, step 'cut' would repoint elbv2:target-group 'some-tg', which this run did not create",
            )],
            help: "${{ run.id }}",
        },
    ]
}

#[test]
fn each_invalid_playbook_reports_its_error() {
    for case in cases() {
        let diagnostics = load(&case.source, &LoadOptions::default());
        let found = summary(&diagnostics);
        assert_eq!(
            found.len(),
            case.expected.len(),
            "{}: {found:#?}",
            case.name
        );
        for (actual, expected) in found.iter().zip(&case.expected) {
            assert_eq!(
                (actual.0, actual.1, actual.2),
                (expected.0, expected.1, expected.2),
                "{}: {actual:?}",
                case.name
            );
            assert!(
                actual.3.starts_with(expected.3),
                "{}: message {:?} should start with {:?}",
                case.name,
                actual.3,
                expected.3
            );
        }
        let help = diagnostics[0].help.clone().unwrap_or_default();
        assert!(
            help.contains(case.help),
            "{}: help {help:?} should contain {:?}",
            case.name,
            case.help
        );
        assert!(
            diagnostics.iter().all(|d| d.severity == Severity::Error),
            "{}",
            case.name
        );
    }
}

#[test]
fn drill_step_guarded_by_incident_mode_is_allowed() {
    let source = format!(
        "version: 1
name: t
modes: [drill, incident]
regions: {{ primary: eu-west-2 }}
steps:
  - id: cut
    kind: alb.repoint
    when: \"${{{{ run.mode == 'incident' }}}}\"
    params:
      region: eu-west-2
      targets: {{ target_group: some-tg, register: [{{ ip: 10.1.2.50, port: 4000 }}] }}
"
    );
    let diagnostics = load(&source, &LoadOptions::default());
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

#[test]
fn overrides_are_typed_and_named() {
    let source = format!(
        "{HEADER}variables:\n  min_acu: {{ type: number, default: 0.5 }}\n  region: {{ type: string, default: eu-west-2 }}\nsteps:\n{}",
        snapshot("a")
    );
    let mut overrides = Overrides::new();
    overrides.add_flag("min_acu=abc").unwrap();
    overrides.add_flag("regoin=us-east-1").unwrap();
    overrides
        .add_file_source("vars.yaml", "min_acu: 2\nextra: true\n")
        .unwrap();
    let options = LoadOptions {
        overrides,
        require_variable_values: true,
    };

    let diagnostics = load(&source, &options);
    let found = summary(&diagnostics);
    assert_eq!(
        found,
        vec![
            ("invalid-override", 0, 0, "invalid value for variable 'min_acu' from --var min_acu=abc: 'abc' is not a number".to_string()),
            ("invalid-override", 0, 0, "unknown variable 'regoin' in --var regoin=us-east-1".to_string()),
            ("invalid-override", 2, 1, "unknown variable 'extra' in vars file 'vars.yaml'".to_string()),
        ]
    );
    assert_eq!(diagnostics[0].file, "--var");
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some("variable 'min_acu' is declared as number at p.yaml:6")
    );
    assert!(
        diagnostics[1]
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean 'region'?")
    );
    assert_eq!(diagnostics[2].file, "vars.yaml");
}

#[test]
fn rendered_error_points_at_the_kind() {
    let source = format!("{HEADER}steps:\n{}", snapshot("a").replace("aurora.snapshot", "aurora.snapshto"));
    let report = load_str("drill.yaml", &source, &LoadOptions::default());
    assert_eq!(report.exit_code(), 2);
    let rendered = report.render(false);
    let expected_head = "\
error: unknown step kind 'aurora.snapshto'
 --> drill.yaml:7:11
  |
7 |     kind: aurora.snapshto
  |           ^^^^^^^^^^^^^^^
  = help: did you mean 'aurora.snapshot'? valid kinds: ";
    assert!(rendered.starts_with(expected_head), "{rendered}");
}

#[test]
fn vars_file_must_be_a_mapping() {
    let error = Overrides::new().add_file_source("vars.yaml", "- a\n- b\n").unwrap_err();
    assert_eq!(error.code, "yaml-syntax");
    assert_eq!(error.message, "the top level must be a mapping of keys to values");
}

#[test]
fn need_of_an_undecodable_step_is_not_reported_twice() {
    let source = format!("{HEADER}steps:\n  - id: a\n{}    needs: [a]\n", snapshot("b"));
    let found = summary(&load(&source, &LoadOptions::default()));
    assert_eq!(found, vec![("missing-key", 6, 5, "step 'a' is missing the required key 'kind'".to_string())]);
}

#[test]
fn budget_over_rto_is_a_warning() {
    let source = format!(
        "{HEADER}rto: {{ target: 10m }}\nsteps:\n{}    budget: 8m\n{}    needs: [a]\n    budget: 5m\n",
        snapshot("a"),
        snapshot("b").replace("pre-", "b-")
    );
    let report = load_str("p.yaml", &source, &LoadOptions::default());
    assert!(!report.has_errors(), "{}", report.render(false));
    assert!(report.playbook.is_some());
    let warnings: Vec<_> = report.warnings().collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, "rto-budget");
    assert_eq!((warnings[0].line, warnings[0].col), (Some(5), Some(16)));
    assert_eq!(
        warnings[0].message,
        "step budgets on the critical path (a -> b) add up to 13m, over the RTO target of 10m"
    );
}

#[test]
fn all_errors_at_once_in_phase_order() {
    let source = "version: 1
name: t
modes: [drill]
regions: { primary: eu-west-2 }
variables:
  min_acu: { type: number, default: 0.5 }
steps:
  - id: a
    kind: aurora.snapshot
    timeout: soon
    params:
      cluster: \"${{ vars.min_cau }}\"
      region: eu-west-2
      snapshot_id: \"x-${{ run.id }}\"
  - id: a
    kind: aurora.snapshto
  - id: c
    kind: aurora.snapshot
    needs: [d, zz]
    params: { cluster: c, region: eu-west-2, snapshot_id: \"c-${{ run.id }}\" }
  - id: d
    kind: aurora.snapshot
    needs: [c]
    colour: blue
    params: { cluster: c, region: eu-west-2, snapshot_id: \"d-${{ run.id }}\" }
";
    let diagnostics = load(source, &LoadOptions::default());
    let found: Vec<_> = summary(&diagnostics)
        .into_iter()
        .map(|(code, line, col, _)| (code, line, col))
        .collect();
    assert_eq!(
        found,
        vec![
            ("invalid-duration", 10, 14),
            ("unknown-key", 24, 5),
            ("duplicate-step", 15, 9),
            ("unknown-kind", 16, 11),
            ("unknown-need", 19, 16),
            ("dependency-cycle", 19, 13),
        ],
        "{}",
        diagnostics
            .iter()
            .map(|d| d.render(false))
            .collect::<String>()
    );
    assert_eq!(diagnostics[5].message, "dependency cycle: c -> d -> c");
}

#[test]
fn all_errors_at_once_without_cycles_reaches_expressions() {
    let source = "version: 1
name: t
regions: { primary: eu-west-2 }
variables:
  min_acu: { type: number, default: 0.5 }
steps:
  - id: a
    kind: aurora.snapshot
    params:
      cluster: \"${{ vars.min_cau }}\"
      region: eu-west-2
      snapshot_id: \"x-${{ run.idd }}\"
      bogus: 1
  - id: b
    kind: aurora.snapshot
    timeout: 5
    params: { cluster: c, region: eu-west-2 }
";
    let diagnostics = load(source, &LoadOptions::default());
    let found: Vec<_> = summary(&diagnostics)
        .into_iter()
        .map(|(code, line, col, _)| (code, line, col))
        .collect();
    assert_eq!(
        found,
        vec![
            ("invalid-duration", 16, 14),
            ("expression", 10, 21),
            ("expression", 12, 27),
            ("unknown-param", 13, 7),
            ("missing-param", 17, 5),
        ],
        "{}",
        diagnostics
            .iter()
            .map(|d| d.render(false))
            .collect::<String>()
    );
}
