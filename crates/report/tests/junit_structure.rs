//! The JUnit XML parses, nests as testsuites > testsuite > testcase, and
//! its counts match its test cases. The XSD check runs in html_in_chromium.sh.

mod support;

use std::collections::HashMap;

use drctl_report::{build_report, load_run, render_junit};
use support::{drill::run_drill, install_fixture};

/// Elements in document order with their attributes and parent name.
struct Element {
    name: String,
    parent: Option<String>,
    attributes: HashMap<String, String>,
}

/// Tokenises `xml`, checking that every tag closes in order.
fn parse(xml: &str) -> Vec<Element> {
    use xmlparser::{ElementEnd, Token, Tokenizer};

    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<(String, usize)> = Vec::new();
    for token in Tokenizer::from(xml) {
        match token.unwrap_or_else(|error| panic!("invalid XML: {error}")) {
            Token::ElementStart { local, .. } => {
                let parent = open.last().map(|(name, _)| name.clone());
                elements.push(Element { name: local.to_string(), parent, attributes: HashMap::new() });
                open.push((local.to_string(), elements.len() - 1));
            }
            Token::Attribute { local, value, .. } => {
                let (_, index) = open.last().expect("attribute inside an element");
                elements[*index].attributes.insert(local.to_string(), value.to_string());
            }
            Token::ElementEnd { end: ElementEnd::Empty, .. } => {
                open.pop();
            }
            Token::ElementEnd { end: ElementEnd::Close(_, local), .. } => {
                let (name, _) = open.pop().expect("close tag without an open tag");
                assert_eq!(name, local.as_str(), "mismatched close tag");
            }
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements: {:?}", open.iter().map(|(n, _)| n).collect::<Vec<_>>());
    elements
}

fn count(elements: &[Element], name: &str, parent: &str) -> usize {
    elements.iter().filter(|e| e.name == name && e.parent.as_deref() == Some(parent)).count()
}

fn attribute(element: &Element, name: &str) -> usize {
    element.attributes.get(name).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{} has no numeric {name}", element.name))
}

/// Checks the structure and returns (tests, failures, errors, skipped) of the suite.
fn check_structure(xml: &str) -> (usize, usize, usize, usize) {
    let elements = parse(xml);
    assert_eq!(elements[0].name, "testsuites", "root element");
    assert_eq!(count(&elements, "testsuite", "testsuites"), 1);
    let suite = elements.iter().find(|e| e.name == "testsuite").unwrap();
    for required in ["name", "tests", "failures", "errors", "skipped", "time", "timestamp"] {
        assert!(suite.attributes.contains_key(required), "testsuite lacks {required}");
    }
    for case in elements.iter().filter(|e| e.name == "testcase") {
        assert_eq!(case.parent.as_deref(), Some("testsuite"));
        for required in ["name", "classname", "time"] {
            assert!(case.attributes.contains_key(required), "testcase lacks {required}");
        }
    }

    let counts = (
        count(&elements, "testcase", "testsuite"),
        count(&elements, "failure", "testcase"),
        count(&elements, "error", "testcase"),
        count(&elements, "skipped", "testcase"),
    );
    assert_eq!(attribute(suite, "tests"), counts.0, "tests attribute");
    assert_eq!(attribute(suite, "failures"), counts.1, "failures attribute");
    assert_eq!(attribute(suite, "errors"), counts.2, "errors attribute");
    assert_eq!(attribute(suite, "skipped"), counts.3, "skipped attribute");
    counts
}

#[test]
fn complete_run_junit_counts() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", "run-complete");
    let xml = render_junit(&build_report(&load_run(&run_dir).unwrap()));

    // Five steps and three checks; the verify step and one check failed.
    assert_eq!(check_structure(&xml), (8, 2, 0, 0));
}

#[test]
fn crashed_run_junit_counts() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "crashed-run.jsonl", "run-crashed");
    let xml = render_junit(&build_report(&load_run(&run_dir).unwrap()));

    // The running writer is an error; the two steps never started are skipped.
    assert_eq!(check_structure(&xml), (5, 0, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn executor_run_junit_counts() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = run_drill(state.path(), "run-exec", 1, 10, 3.0).await;
    let xml = render_junit(&build_report(&load_run(&run_dir).unwrap()));

    assert_eq!(check_structure(&xml), (7, 1, 0, 0));
}

#[test]
fn junit_escapes_markup() {
    let state = tempfile::tempdir().unwrap();
    let run_dir = install_fixture(state.path(), "complete-run.jsonl", "run-escape");
    let xml = render_junit(&build_report(&load_run(&run_dir).unwrap()));

    assert!(xml.contains("name=\"spend logs &lt;24h&gt; &amp; recent\""), "{xml}");
}
