//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned), every server
//! scenario, against the sidecar started by `scripts/conformance_host.py`: once on the oldest
//! Python with handlers on threads, once on the newest with `call_mode="main"`. No expected
//! failures: a scenario passes when its `checks.json` holds checks and no FAILURE, and the tool's
//! exit status must agree.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use super::host::{self, Host};
use super::node;
use crate::python_env::{find_interpreter, NEWEST, OLDEST};

const PACKAGE: &str = "@modelcontextprotocol/conformance";
const VERSION: &str = "0.1.16";

/// Every server scenario of 0.1.16 (`conformance list --server`), in its order.
pub const SCENARIOS: &[&str] = &[
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "json-schema-2020-12",
    "elicitation-sep1034-defaults",
    "server-sse-polling",
    "server-sse-multiple-streams",
    "elicitation-sep1330-enums",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
];

/// One check of a scenario, as the tool writes it to `checks.json`.
#[derive(Debug, serde::Deserialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    #[serde(default)]
    pub description: String,
    #[serde(default, rename = "errorMessage")]
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Success,
    Failure,
    Warning,
    Info,
    Skipped,
}

pub struct Outcome {
    pub scenario: &'static str,
    pub checks: Vec<Check>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && !self.checks.iter().any(|c| c.status == Status::Failure)
    }

    fn reasons(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Failure)
            .map(|c| {
                let why = c.error_message.as_deref().unwrap_or(&c.description);
                format!("{}: {why}", c.name)
            })
            .collect();
        if self.checks.is_empty() {
            reasons.push("no checks recorded".into());
        }
        reasons
    }

    fn warnings(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Warning)
    }
}

pub fn run(sh: &Shell) -> Result<()> {
    let binary = host::build_sidecar(sh)?;
    let suite = Suite::ensure(sh)?;
    let mut failed = Vec::new();
    for (version, call_mode) in [(OLDEST, "thread"), (NEWEST, "main")] {
        let python = find_interpreter(version)?;
        let label = format!("Python {version}, call_mode={call_mode}");
        eprintln!("==> conformance {VERSION} against the sidecar ({label})");
        let outcomes = suite.run_all(&python, &binary, call_mode)?;
        let passed = report(&outcomes);
        eprintln!("conformance ({label}): {passed}/{} passed", outcomes.len());
        if passed != outcomes.len() {
            failed.push(label);
        }
    }
    if !failed.is_empty() {
        bail!("conformance scenarios failed ({})", failed.join("; "));
    }
    Ok(())
}

/// Prints one line per scenario (and the reasons of each failure); returns how many passed.
pub fn report(outcomes: &[Outcome]) -> usize {
    for outcome in outcomes {
        let mark = if outcome.passed() { "ok  " } else { "FAIL" };
        eprintln!("  {mark} {}", outcome.scenario);
        for reason in outcome.reasons() {
            eprintln!("         {reason}");
        }
        for warning in outcome.warnings() {
            let why = warning
                .error_message
                .as_deref()
                .unwrap_or(&warning.description);
            eprintln!("         warning {}: {why}", warning.name);
        }
    }
    outcomes.iter().filter(|o| o.passed()).count()
}

/// The installed tool and the Node that runs it.
pub struct Suite {
    node: PathBuf,
    entry: PathBuf,
}

impl Suite {
    pub fn ensure(sh: &Shell) -> Result<Suite> {
        let node = node::ensure_node22(sh)?;
        let package = node::ensure_package(sh, "conformance", PACKAGE, VERSION)?;
        Ok(Suite {
            node,
            entry: package.join("dist/index.js"),
        })
    }

    /// Starts a host, runs every scenario against its sidecar in one run of the tool, stops it.
    pub fn run_all(&self, python: &Path, binary: &Path, call_mode: &str) -> Result<Vec<Outcome>> {
        let out = crate::project_root()
            .join("target/conformance")
            .join(call_mode);
        if out.exists() {
            std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
        }
        let command = host::python_command(
            python,
            binary,
            "scripts/conformance_host.py",
            &["--call-mode", call_mode],
        );
        let host = Host::start(command)?;
        let output = Command::new(&self.node)
            .arg(&self.entry)
            .args([
                "server",
                "--url",
                &host.url,
                "--suite",
                "all",
                "--output-dir",
            ])
            .arg(&out)
            .output()
            .context("running the conformance suite")?;
        host.stop()?;
        let log = out.join("conformance.log");
        std::fs::write(&log, [output.stdout.as_slice(), &output.stderr].concat())?;
        let mut outcomes = Vec::new();
        for scenario in SCENARIOS {
            let checks = read_checks(&out, scenario)
                .with_context(|| format!("scenario {scenario}: see {}", log.display()))?;
            outcomes.push(Outcome { scenario, checks });
        }
        // The tool's own verdict (exit status) must agree with the checks it wrote.
        let all_passed = outcomes.iter().all(Outcome::passed);
        if output.status.success() != all_passed {
            bail!(
                "the tool exited with {} but its checks say all passed: {all_passed}; see {}",
                output.status,
                log.display()
            );
        }
        Ok(outcomes)
    }
}

/// The tool writes `<out>/server-<scenario>-<timestamp>/checks.json`.
fn read_checks(out: &Path, scenario: &str) -> Result<Vec<Check>> {
    let prefix = format!("server-{scenario}-");
    let dir = std::fs::read_dir(out)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            // `<prefix><timestamp>`: a digit next, so `ping` never takes `ping-extra`'s folder.
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .with_context(|| format!("no {prefix}* folder in {}", out.display()))?;
    let path = dir.join("checks.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(json: &str) -> Outcome {
        Outcome {
            scenario: "ping",
            checks: serde_json::from_str(json).unwrap(),
        }
    }

    #[test]
    fn a_failure_check_or_no_checks_fails_the_scenario() {
        let ok = r#"[{"name":"Ping","status":"SUCCESS","description":"d"},
                     {"name":"Note","status":"WARNING","description":"w"}]"#;
        let bad = r#"[{"name":"Ping","status":"FAILURE","description":"d","errorMessage":"boom"}]"#;
        assert!(outcome(ok).passed());
        assert!(!outcome(bad).passed());
        assert_eq!(outcome(bad).reasons(), vec!["Ping: boom".to_string()]);
        assert!(!outcome("[]").passed());
    }

    #[test]
    fn a_scenario_finds_its_own_folder_only() {
        let out = std::env::temp_dir().join(format!("conformance-test-{}", std::process::id()));
        let mine = out.join("server-ping-2026-12-01T00-00-00-000Z");
        let other = out.join("server-ping-extra-2026-12-01T00-00-00-000Z");
        for (dir, status) in [(&mine, "SUCCESS"), (&other, "FAILURE")] {
            std::fs::create_dir_all(dir).unwrap();
            let json = format!(r#"[{{"name":"Ping","status":"{status}"}}]"#);
            std::fs::write(dir.join("checks.json"), json).unwrap();
        }
        let checks = read_checks(&out, "ping").unwrap();
        std::fs::remove_dir_all(&out).unwrap();
        assert_eq!(checks[0].status, Status::Success);
    }

    #[test]
    fn the_pinned_list_has_the_32_server_scenarios_once_each() {
        let mut names = SCENARIOS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 32);
    }
}
