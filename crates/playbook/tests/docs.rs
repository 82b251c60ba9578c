//! docs/playbook.md stays in step with the kind registry, and its examples load.

use drctl_playbook::expr::value::type_name;
use drctl_playbook::{LoadOptions, kinds, load_str};

const DOC: &str = include_str!("../../../docs/playbook.md");

/// The reference section the doc must contain for each kind, generated from the registry.
fn kind_section(kind: &kinds::KindInfo) -> String {
    let mut out = format!("### `{}`\n\n{}.\n\n", kind.name, kind.summary);
    out.push_str(if kind.destructive {
        "Destructive: with `approval: auto` it waits for approval in incident mode.\n\n"
    } else {
        "Not destructive.\n\n"
    });
    out.push_str("| output | type | description |\n| --- | --- | --- |\n");
    for output in kind.outputs {
        out.push_str(&format!("| `{}` | {} | {} |\n", output.name, type_name(output.ty), output.description));
    }
    out.push_str(&format!("\n```yaml\n{}```\n", kind.example));
    out
}

#[test]
fn doc_has_a_section_per_kind() {
    let mut missing = String::new();
    for kind in kinds::all() {
        let section = kind_section(kind);
        if !DOC.contains(&section) {
            missing.push_str(&section);
            missing.push('\n');
        }
    }
    assert!(missing.is_empty(), "docs/playbook.md lacks or has stale sections; expected:\n\n{missing}");
}

/// Each kind example is a step; with the steps it needs stubbed as
/// snapshots, it must load without errors in incident mode.
#[test]
fn kind_examples_load() {
    for kind in kinds::all() {
        let step: serde_json::Value = {
            let document = drctl_playbook::document::Document::parse("example.yaml", &format!("steps:\n{}", indent(kind.example))).unwrap();
            document.root["steps"][0].clone()
        };
        let mut stubs = String::new();
        for need in step["needs"].as_array().into_iter().flatten() {
            let id = need.as_str().unwrap();
            stubs.push_str(&format!(
                "  - {{ id: {id}, kind: aurora.snapshot, params: {{ cluster: c, region: eu-west-2, snapshot_id: \"{id}-${{{{ run.id }}}}\" }} }}\n"
            ));
        }
        let source = format!(
            "version: 1\nname: example\nmodes: [incident]\nregions: {{ primary: eu-west-2, backup: us-east-1 }}\nvariables:\n  bad_apply_time: {{ type: string, default: \"2026-12-04T09:30:00Z\" }}\nsteps:\n{stubs}{}",
            indent(kind.example)
        );
        let report = load_str("example.yaml", &source, &LoadOptions::default());
        let errors: Vec<String> = report.errors().map(|d| d.render(false)).collect();
        // Stubbed dependencies have snapshot outputs, so references to other
        // kinds' outputs are the only errors allowed here.
        let unexpected: Vec<&String> = errors.iter().filter(|e| !e.contains("has no output")).collect();
        assert!(unexpected.is_empty(), "example of {}:\n{}", kind.name, errors.join("\n"));
    }
}

#[test]
fn doc_playbook_examples_load() {
    let mut found = 0;
    for block in DOC.split("```yaml\n").skip(1) {
        let body = block.split("```").next().unwrap();
        if !body.starts_with("version: 1") {
            continue;
        }
        found += 1;
        let report = load_str("doc.yaml", body, &LoadOptions::default());
        assert!(!report.has_errors(), "{}\n{}", body, report.render(false));
    }
    assert!(found >= 1, "the doc should hold at least one complete playbook");
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}
