//! The GitHub workflows, checked offline: they match GitHub's workflow schema (check-jsonschema's
//! vendored copy), the release matrix is `cargo xtask plan --json`, every action is pinned to a
//! release's commit (`pins`), the release restores no cache, `id-token: write` is granted to the
//! publish job alone, every `cargo xtask …` they run parses with the real flags, and zizmor and
//! actionlint find nothing (`audit`).

mod audit;
mod pins;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use xshell::{cmd, Shell};

use super::commands::{self, matrix_values};
use super::{output, scratch, text, xtask};
use crate::config::Config;
use crate::python_env::{Venv, NEWEST};

const CHECK_JSONSCHEMA: &str = "check-jsonschema==0.39.0";
pub const CI: &str = ".github/workflows/ci.yml";
pub const RELEASE: &str = ".github/workflows/release.yml";

pub fn run(sh: &Shell, cfg: &Config) -> Result<()> {
    let mut packages = vec![CHECK_JSONSCHEMA];
    packages.extend(audit::PACKAGES);
    let venv = Venv::ensure(sh, "workflow-lint", NEWEST, &packages)?;
    let check = venv.bin("check-jsonschema");
    let owned = workflow_files()?;
    let files: Vec<&str> = owned.iter().map(String::as_str).collect();
    let paths = &files;
    cmd!(
        sh,
        "{check} --builtin-schema vendor.github-workflows {paths...}"
    )
    .run()
    .context("the workflows do not match GitHub's workflow schema")?;
    let python = venv.python();
    let json = cmd!(sh, "{python} scripts/yaml_to_json.py {paths...}")
        .read()
        .context("parsing the workflow YAML")?;
    let docs: BTreeMap<String, Value> =
        serde_json::from_str(&json).context("reading the workflows as JSON")?;
    let plan = plan_json()?;
    let readme = std::fs::read_to_string(crate::project_root().join("README.md"))
        .context("reading README.md")?;
    let suites = crate::test::suite_names();
    let mut problems = all_problems(&docs, &plan, &cfg.dist.targets, &suites);
    for file in &files {
        let text = std::fs::read_to_string(crate::project_root().join(file))
            .with_context(|| format!("reading {file}"))?;
        let parsed = docs.get(*file).map(all_uses).unwrap_or_default();
        problems.extend(pins::problems(file, &text, &parsed, &readme));
    }
    if !problems.is_empty() {
        bail!(
            "the workflows have {} problems:\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    let auditors = audit::Auditors::in_venv(&venv);
    auditors
        .prove_on_bad_workflow(&scratch("workflows-audit")?)
        .context("zizmor and actionlint on a deliberately bad workflow")?;
    let findings = auditors.audit(&crate::project_root(), &files)?;
    if !findings.is_empty() {
        bail!(
            "zizmor and actionlint report {} findings:\n  {}",
            findings.len(),
            audit::list(&findings)
        );
    }
    eprintln!(
        "workflows: schema, release matrix = plan, SHA pins, permissions, xtask commands, \
         zizmor and actionlint ok"
    );
    Ok(())
}

/// Every workflow file, relative to the project root (`.github/workflows/*.yml`), sorted.
fn workflow_files() -> Result<Vec<String>> {
    let dir = ".github/workflows";
    let mut files: Vec<String> = std::fs::read_dir(crate::project_root().join(dir))
        .with_context(|| format!("listing {dir}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    files.sort();
    Ok(files)
}

/// `cargo xtask plan --json`, as the release workflow's first job runs it.
fn plan_json() -> Result<Value> {
    let out = output(&mut xtask(&["plan", "--json"])?)?;
    ensure!(
        out.status.success(),
        "cargo xtask plan --json failed:\n{}",
        text(&out)
    );
    serde_json::from_slice(&out.stdout).context("cargo xtask plan --json printed invalid JSON")
}

pub fn all_problems(
    docs: &BTreeMap<String, Value>,
    plan: &Value,
    targets: &[String],
    suites: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    for file in [CI, RELEASE] {
        if !docs.contains_key(file) {
            problems.push(format!("{file} is missing"));
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    problems.extend(audit::ci_step_problems(&docs[CI]));
    problems.extend(id_token_grants(docs));
    problems.extend(release_shape(&docs[RELEASE]));
    problems.extend(attestation_steps(&docs[RELEASE]));
    let release_matrix = match release_matrix(&docs[RELEASE], plan, targets) {
        Ok(()) => Some(plan),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    problems.extend(xtask_commands(docs, release_matrix, suites));
    problems
}

fn jobs(doc: &Value) -> impl Iterator<Item = (&String, &Value)> {
    doc.get("jobs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

fn steps(job: &Value) -> impl Iterator<Item = &Value> {
    job.get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Every `uses:` of a workflow, step and job level (reusable workflows), as parsed.
fn all_uses(doc: &Value) -> Vec<&str> {
    jobs(doc)
        .flat_map(|(_, job)| std::iter::once(job).chain(steps(job)))
        .filter_map(|v| v.get("uses").and_then(Value::as_str))
        .collect()
}

/// The release jobs that may mint OIDC tokens (trusted publishing), sorted.
const OIDC_JOBS: &[&str] = &["github-release", "publish"];

/// Who may mint OIDC tokens: the release workflow's `OIDC_JOBS`, nobody else.
fn id_token_grants(docs: &BTreeMap<String, Value>) -> Vec<String> {
    let mut grants = Vec::new();
    let grants_id_token = |p: Option<&Value>| match p {
        Some(Value::String(s)) => s == "write-all",
        Some(Value::Object(m)) => m.get("id-token").and_then(Value::as_str) == Some("write"),
        _ => false,
    };
    for (file, doc) in docs {
        if grants_id_token(doc.get("permissions")) {
            grants.push(format!("{file} (workflow level)"));
        }
        for (job_name, job) in jobs(doc) {
            if grants_id_token(job.get("permissions")) {
                grants.push(format!("{file} job {job_name}"));
            }
        }
    }
    let wanted: Vec<String> = OIDC_JOBS
        .iter()
        .map(|job| format!("{RELEASE} job {job}"))
        .collect();
    grants.sort();
    if grants == wanted {
        Vec::new()
    } else {
        vec![format!(
            "`id-token: write` must be granted to exactly {wanted:?}; granted to {grants:?}"
        )]
    }
}

/// Triggers, least privilege, one release at a time, and publish only after the checks.
fn release_shape(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut require = |ok: bool, what: &str| {
        if !ok {
            problems.push(format!("{RELEASE}: {what}"));
        }
    };
    let on = doc.get("on");
    let tags = on
        .and_then(|o| o.pointer("/push/tags"))
        .and_then(Value::as_array);
    require(
        tags.is_some_and(|t| t.iter().any(|v| v == "v*")),
        "must run on push of tags `v*`",
    );
    let dry_run = on.and_then(|o| o.pointer("/workflow_dispatch/inputs/dry-run/type"));
    require(
        dry_run == Some(&Value::from("boolean")),
        "workflow_dispatch needs a boolean `dry-run` input",
    );
    let top = doc.get("permissions");
    let read_only = match top {
        Some(Value::Object(m)) => m.values().all(|v| v == "read" || v == "none"),
        _ => false,
    };
    require(read_only, "top-level permissions must be `{}` or read-only");
    for (name, job) in jobs(doc) {
        require(
            job.get("permissions").is_some(),
            &format!("job {name} must declare its permissions"),
        );
        let writes_contents = job.pointer("/permissions/contents") == Some(&Value::from("write"));
        require(
            !writes_contents || name == "github-release",
            &format!("job {name} must not write contents"),
        );
    }
    // zizmor's cache-poisoning: a cache written by any branch must not reach a released file.
    for (name, job) in jobs(doc) {
        for step in steps(job) {
            let uses = step.get("uses").and_then(Value::as_str).unwrap_or_default();
            let caches = uses.starts_with("actions/cache")
                || uses.contains("rust-cache")
                || step.pointer("/with/cache").is_some();
            require(!caches, &format!("job {name} must not restore a cache"));
        }
    }
    let concurrency = doc.get("concurrency");
    require(
        concurrency.and_then(|c| c.get("group")).is_some()
            && concurrency.and_then(|c| c.get("cancel-in-progress")) == Some(&Value::Bool(false)),
        "needs a concurrency group that never cancels a release in progress",
    );
    let env = doc.pointer("/jobs/publish/environment");
    let env_name = env
        .and_then(|e| e.get("name").or(Some(e)))
        .and_then(Value::as_str);
    require(
        env_name == Some("pypi"),
        "the publish job must run in the `pypi` environment",
    );
    for (job, before) in [
        ("publish", "assemble"),
        ("publish", "freeze"),
        ("github-release", "publish"),
    ] {
        require(
            needs_transitively(doc, job, before),
            &format!("job {job} must run after {before}"),
        );
    }
    problems
}

/// The publish job signs (PEP 740) and uploads with `--attestations`; the github-release job
/// writes the SBOM assets before the provenance step, which covers dist/ and them.
fn attestation_steps(doc: &Value) -> Vec<String> {
    let runs = |job: &str| -> Vec<String> {
        doc.pointer(&format!("/jobs/{job}"))
            .map(steps)
            .into_iter()
            .flatten()
            .map(|s| {
                s.get("run")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    let mut problems = Vec::new();
    let publish = runs("publish");
    let sign = publish
        .iter()
        .position(|r| r.contains("-m pypi_attestations sign"));
    let upload = publish
        .iter()
        .position(|r| r.contains("cargo xtask publish") && r.contains("--attestations"));
    if !matches!((sign, upload), (Some(s), Some(u)) if s < u) {
        problems.push(format!(
            "{RELEASE} job publish must run `python -m pypi_attestations sign`, then \
             `cargo xtask publish --attestations`"
        ));
    }
    let sboms = format!("{}/*", crate::github_release::SBOM_DIR);
    let release_steps: Vec<&Value> = doc
        .pointer("/jobs/github-release")
        .map(steps)
        .into_iter()
        .flatten()
        .collect();
    let attest = release_steps.iter().position(|s| {
        let uses = s.get("uses").and_then(Value::as_str).unwrap_or_default();
        let subjects = s
            .pointer("/with/subject-path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let lines: Vec<&str> = subjects.lines().map(str::trim).collect();
        uses.starts_with("actions/attest-build-provenance@")
            && lines.contains(&"dist/*")
            && lines.contains(&sboms.as_str())
    });
    let dry_run = release_steps.iter().position(|s| {
        let run = s.get("run").and_then(Value::as_str).unwrap_or_default();
        run.contains("cargo xtask github-release") && run.contains("--dry-run")
    });
    if !matches!((dry_run, attest), (Some(d), Some(a)) if d < a) {
        problems.push(format!(
            "{RELEASE} job github-release must write the SBOM assets (`github-release --dry-run`) \
             before attest-build-provenance over `dist/*` and `{sboms}`"
        ));
    }
    problems
}

fn needs(job: &Value) -> Vec<String> {
    match job.get("needs") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn needs_transitively(doc: &Value, job: &str, before: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![job.to_string()];
    while let Some(name) = todo.pop() {
        let Some(j) = doc.pointer(&format!("/jobs/{name}")) else {
            continue;
        };
        for n in needs(j) {
            if n == before {
                return true;
            }
            if seen.insert(n.clone()) {
                todo.push(n);
            }
        }
    }
    false
}

/// The build job's matrix is `fromJSON` of the plan job's output, which `cargo xtask plan
/// --json` writes; so the matrix GitHub runs is the plan, and the plan names every target.
fn release_matrix(doc: &Value, plan: &Value, targets: &[String]) -> Result<(), String> {
    let (build_name, build) = jobs(doc)
        .find(|(_, j)| {
            j.pointer("/strategy/matrix")
                .and_then(Value::as_str)
                .is_some_and(|m| m.contains("fromJSON"))
        })
        .ok_or(format!(
            "{RELEASE}: no job takes its matrix from fromJSON(…) of the plan"
        ))?;
    let expr = build
        .pointer("/strategy/matrix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let compact: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let (plan_job, output) = compact
        .strip_prefix("${{fromJSON(needs.")
        .and_then(|r| r.strip_suffix(")}}"))
        .and_then(|r| r.split_once(".outputs."))
        .ok_or(format!("{RELEASE} job {build_name}: matrix `{expr}` is not ${{{{ fromJSON(needs.JOB.outputs.NAME) }}}}"))?;
    let job = doc.pointer(&format!("/jobs/{plan_job}")).ok_or(format!(
        "{RELEASE}: the matrix names job `{plan_job}`, which does not exist"
    ))?;
    if !needs(build).iter().any(|n| n == plan_job) {
        return Err(format!("{RELEASE} job {build_name} must need {plan_job}"));
    }
    let out = job
        .pointer(&format!("/outputs/{output}"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let step_id = out
        .trim_start_matches("${{")
        .trim_end_matches("}}")
        .trim()
        .strip_prefix("steps.")
        .and_then(|r| r.split_once(".outputs."))
        .map(|(id, _)| id.to_string())
        .ok_or(format!(
            "{RELEASE} job {plan_job}: output `{output}` must come from a step"
        ))?;
    let step = steps(job)
        .find(|s| s.get("id").and_then(Value::as_str) == Some(step_id.as_str()))
        .ok_or(format!(
            "{RELEASE} job {plan_job}: no step with id `{step_id}`"
        ))?;
    let script = step.get("run").and_then(Value::as_str).unwrap_or_default();
    if !script.contains("cargo xtask plan --json") {
        return Err(format!(
            "{RELEASE} job {plan_job}: step `{step_id}` must run `cargo xtask plan --json`"
        ));
    }
    let entries = plan
        .get("include")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or("cargo xtask plan --json has no `include` entries: it is not a matrix")?;
    // Every `matrix.KEY` the build job reads exists in every plan entry.
    let job_text = build.to_string();
    for key in matrix_keys(&job_text) {
        if let Some(entry) = entries.iter().find(|e| e.get(&key).is_none()) {
            return Err(format!(
                "{RELEASE} job {build_name} reads matrix.{key}, which the plan entry {entry} lacks"
            ));
        }
    }
    for target in targets {
        if !entries.iter().any(|e| {
            e.as_object()
                .is_some_and(|o| o.values().any(|v| v == target.as_str()))
        }) {
            return Err(format!(
                "the release matrix does not name the target {target}"
            ));
        }
    }
    let artifacts = matrix_values(plan, "artifact");
    if artifacts.len() != entries.len() {
        return Err(format!(
            "plan artifact names must be unique, one per entry: {artifacts:?}"
        ));
    }
    // The assemble job's download pattern must pick up every build artifact.
    let patterns: Vec<&str> = jobs(doc)
        .flat_map(|(_, j)| steps(j))
        .filter(|s| {
            s.get("uses")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("actions/download-artifact@"))
        })
        .filter_map(|s| s.pointer("/with/pattern").and_then(Value::as_str))
        .collect();
    for artifact in &artifacts {
        if !patterns.iter().any(|p| glob_match(p, artifact)) {
            return Err(format!(
                "no download-artifact pattern in {RELEASE} matches the artifact `{artifact}`"
            ));
        }
    }
    // Each OS a wheel is tested on also freezes it.
    let runners: BTreeSet<String> = matrix_values(plan, "test_runner").into_iter().collect();
    let freeze: BTreeSet<String> = doc
        .pointer("/jobs/freeze/strategy/matrix")
        .map(|m| matrix_values(m, "runner"))
        .unwrap_or_default()
        .into_iter()
        .collect();
    if runners != freeze {
        return Err(format!(
            "freeze runners {freeze:?} differ from the test runners {runners:?}"
        ));
    }
    Ok(())
}

/// `KEY` for every `matrix.KEY` in a job's text.
fn matrix_keys(text: &str) -> BTreeSet<String> {
    text.match_indices("matrix.")
        .map(|(i, m)| {
            text[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
        })
        .filter(|k| !k.is_empty())
        .collect()
}

/// `*`-only globs, as `download-artifact` patterns use them here.
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head)
                && (0..=name.len() - head.len()).any(|i| glob_match(tail, &name[head.len() + i..]))
        }
    }
}

/// Every `cargo xtask …` in a `run:` block parses, with matrix and env values expanded.
fn xtask_commands(
    docs: &BTreeMap<String, Value>,
    plan: Option<&Value>,
    suites: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = serde_json::Map::new();
    let as_env = |v: Option<&Value>| -> BTreeMap<String, Value> {
        v.and_then(Value::as_object)
            .unwrap_or(&empty)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut found = 0;
    for (file, doc) in docs {
        let workflow_env = as_env(doc.get("env"));
        for (job_name, job) in jobs(doc) {
            let job_env = as_env(job.get("env"));
            let matrix = match job.pointer("/strategy/matrix") {
                Some(Value::String(_)) => plan,
                other => other,
            };
            for step in steps(job) {
                let Some(script) = step.get("run").and_then(Value::as_str) else {
                    continue;
                };
                let step_env = as_env(step.get("env"));
                let vars = commands::resolver(vec![&step_env, &job_env, &workflow_env], matrix);
                for args in commands::xtask_invocations(script, &vars) {
                    found += 1;
                    if let Err(e) = commands::check_invocation(&args, suites) {
                        problems.push(format!("{file} job {job_name}: {e}"));
                    }
                }
            }
        }
    }
    if found == 0 {
        problems.push("no `cargo xtask` command found in any workflow".into());
    }
    problems
}

#[cfg(test)]
mod tests;
