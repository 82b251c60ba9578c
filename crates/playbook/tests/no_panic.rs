//! The loader and the expression parser never panic, whatever the input.

use drctl_playbook::expr::{Template, parse};
use drctl_playbook::{LoadOptions, load_str};
use proptest::prelude::*;

const VALID: &str = include_str!("valid/quarterly-drill.yaml");

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// One edit of a valid playbook: a cut, an insertion, or a copied line.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { line: usize },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), "[ -~\\n\\t]{1,12}").prop_map(|(at, text)| Edit::Insert { at, text }),
        (any::<usize>(), Just(())).prop_map(|(line, ())| Edit::DuplicateLine { line }),
    ]
}

fn apply(source: &str, edit: &Edit) -> String {
    let chars: Vec<char> = source.chars().collect();
    match edit {
        Edit::Delete { at, len } => {
            let at = at % chars.len();
            let end = (at + len).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Edit::Insert { at, text } => {
            let at = at % (chars.len() + 1);
            let mut out: String = chars[..at].iter().collect();
            out.push_str(text);
            out.extend(&chars[at..]);
            out
        }
        Edit::DuplicateLine { line } => {
            let lines: Vec<&str> = source.lines().collect();
            let line = line % lines.len();
            let mut out = lines.clone();
            out.insert(line, lines[line]);
            out.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn loader_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let source = String::from_utf8_lossy(&bytes);
        let report = load_str("fuzz.yaml", &source, &LoadOptions::default());
        prop_assert!(report.playbook.is_none() || !report.has_errors());
    }

    #[test]
    fn loader_survives_mutated_playbooks(edits in proptest::collection::vec(edit_strategy(), 1..4)) {
        let mut source = VALID.to_string();
        for edit in &edits {
            source = apply(&source, edit);
        }
        let report = load_str("fuzz.yaml", &source, &LoadOptions::default());
        for diagnostic in &report.diagnostics {
            // Every located diagnostic renders with its source line.
            let rendered = diagnostic.render(false);
            prop_assert!(rendered.contains(&diagnostic.message));
        }
    }

    #[test]
    fn expression_parser_survives_arbitrary_text(text in "[a-z_.'()!=<>&|+\\- 0-9${}]{0,60}") {
        let _ = parse(&text);
        let _ = Template::parse(&text);
    }

    #[test]
    fn expression_parser_survives_unicode(text in "\\PC{0,40}") {
        let _ = parse(&text);
        let _ = Template::parse(&format!("a ${{{{ {text} }}}} b"));
    }
}
