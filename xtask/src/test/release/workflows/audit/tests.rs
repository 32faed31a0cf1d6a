//! The parts of the audit that need no tool: reading zizmor's JSON and the one accepted notice.
//! The tools themselves are proven on a bad workflow by the suite (`prove_on_bad_workflow`).

use super::*;

const TEXT: &str =
    "steps:\n  - uses: actions/checkout@v4\n  - uses: actions/download-artifact@v6\n";

fn actionlint(rule: &str, line: usize, message: &str) -> Finding {
    Finding {
        tool: Tool::Actionlint,
        rule: rule.into(),
        severity: None,
        file: "w.yml".into(),
        line,
        message: message.into(),
    }
}

#[test]
fn only_download_artifacts_node20_notice_is_accepted() {
    let node20 = "runtime \"node20\" is deprecated in GitHub Actions";
    assert!(is_accepted(&actionlint("action", 3, node20), TEXT));
    assert!(!is_accepted(&actionlint("action", 2, node20), TEXT));
    assert!(!is_accepted(
        &actionlint("action", 3, "input \"x\" is not defined"),
        TEXT
    ));
    assert!(!is_accepted(&actionlint("shellcheck", 3, node20), TEXT));
    let mut zizmor = actionlint("action", 3, node20);
    zizmor.tool = Tool::Zizmor;
    assert!(!is_accepted(&zizmor, TEXT));
}

/// One finding as zizmor 1.32 prints it with `--format json` (trimmed to the fields read).
const ZIZMOR_JSON: &str = r#"[{"ident": "unpinned-uses", "desc": "unpinned action reference",
  "determinations": {"confidence": "High", "severity": "High", "persona": "Regular"},
  "locations": [
    {"symbolic": {"key": {"Local": {"verbatim_path": "w.yml"}}, "annotation": "related",
      "kind": "Related"},
     "concrete": {"location": {"start_point": {"row": 1, "column": 0}}}},
    {"symbolic": {"key": {"Local": {"verbatim_path": "w.yml"}},
      "annotation": "action is not pinned to a hash", "kind": "Primary"},
     "concrete": {"location": {"start_point": {"row": 11, "column": 8}}}}],
  "ignored": false}]"#;

#[test]
fn zizmor_findings_are_read_at_their_primary_location() {
    let raw: Vec<ZizmorFinding> = serde_json::from_str(ZIZMOR_JSON).unwrap();
    let findings: Vec<Finding> = raw.into_iter().map(zizmor_finding).collect();
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(
        (
            f.tool,
            f.rule.as_str(),
            f.severity.as_deref(),
            f.file.as_str(),
            f.line
        ),
        (Tool::Zizmor, "unpinned-uses", Some("High"), "w.yml", 12)
    );
    assert!(f.to_string().contains("action is not pinned to a hash"));
}
