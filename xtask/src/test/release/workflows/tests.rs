//! The workflow rules on small in-memory workflows: a good pair passes, each slip is caught.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;

const SUITES: &[&str] = &["lint", "python", "workflows", "release"];
const README: &str = "pinned: Swatinem/rust-cache@v2";

fn plan() -> Value {
    json!({"include": [
        {"target": "x86_64-unknown-linux-gnu", "runner": "ubuntu-24.04", "builder": "zig", "artifact": "dist-x86_64-unknown-linux-gnu"},
        {"target": "aarch64-apple-darwin", "runner": "macos-14", "builder": "native", "artifact": "dist-aarch64-apple-darwin"},
    ]})
}

fn targets() -> Vec<String> {
    vec![
        "x86_64-unknown-linux-gnu".into(),
        "aarch64-apple-darwin".into(),
    ]
}

fn checkout() -> Value {
    json!({"uses": "actions/checkout@v6", "with": {"persist-credentials": false}})
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
                "runs-on": "${{ matrix.runner }}",
                "permissions": {"contents": "read"},
                "strategy": {"matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}"},
                "steps": [
                    checkout(),
                    {"env": {"TARGET": "${{ matrix.target }}", "BUILDER": "${{ matrix.builder }}"},
                     "run": "cargo xtask dist --target \"$TARGET\" --builder \"$BUILDER\" --no-sdist"},
                    {"uses": "actions/upload-artifact@v6", "with": {"name": "${{ matrix.artifact }}"}},
                ],
            },
            "assemble": {
                "needs": ["build"],
                "permissions": {"contents": "read"},
                "steps": [
                    {"uses": "actions/download-artifact@v6", "with": {"pattern": "dist-*"}},
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
                "steps": [{"run": "cargo xtask publish --dist dist"}],
            },
            "github-release": {
                "needs": "publish",
                "permissions": {"contents": "write"},
                "steps": [{"env": {"TAG": "${{ github.ref_name }}"}, "run": "cargo xtask github-release --tag \"$TAG\""}],
            },
        },
    })
}

fn ci() -> Value {
    json!({
        "on": {"push": null, "pull_request": null},
        "permissions": {"contents": "read"},
        "jobs": {"test": {
            "steps": [checkout(), {"uses": "Swatinem/rust-cache@v2"}, {"run": "cargo xtask test --skip python"}],
        }},
    })
}

fn problems_with(edit: impl FnOnce(&mut Value, &mut Value)) -> Vec<String> {
    let (mut ci, mut release) = (ci(), release());
    edit(&mut ci, &mut release);
    let docs: BTreeMap<String, Value> =
        [(CI.to_string(), ci), (RELEASE.to_string(), release)].into();
    all_problems(&docs, &plan(), &targets(), README, SUITES)
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
fn action_pins() {
    assert_caught(
        problems_with(|ci, _| {
            ci["jobs"]["test"]["steps"][0]["uses"] = json!("actions/checkout@v4")
        }),
        "must be pinned at @v6",
    );
    assert_caught(
        problems_with(|ci, _| ci["jobs"]["test"]["steps"][0]["uses"] = json!("actions/checkout")),
        "is not pinned",
    );
    assert_caught(
        problems_with(|ci, _| {
            ci["jobs"]["test"]["steps"][1]["uses"] = json!("Swatinem/rust-cache@v3")
        }),
        "README.md does not state",
    );
}

#[test]
fn id_token_only_in_publish() {
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
        "granted to []",
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
        README,
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
