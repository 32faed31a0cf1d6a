//! Resource subscriptions end to end with the official Python SDK client (PyPI `mcp`, pinned):
//! `scripts/sdk_subscriptions.py` hosts a resource and drives two SDK sessions against the
//! sidecar (updates only to the subscriber, within 100 ms; none after unsubscribe; list_changed
//! to both; no "Session termination failed" on close).

use anyhow::{bail, Context, Result};
use xshell::Shell;

use super::host;
use crate::python_env::{Venv, NEWEST};

/// The SDK release the client side is pinned to (needs Python ≥ 3.10).
pub const MCP_SDK: &str = "mcp==2.3.0";

#[derive(Debug, serde::Deserialize)]
struct Report {
    #[serde(default)]
    updated_ms: Vec<f64>,
    #[serde(default)]
    b_received: usize,
    problems: Vec<String>,
}

pub fn run(sh: &Shell) -> Result<()> {
    let binary = host::build_sidecar(sh)?;
    let venv = Venv::ensure(sh, "mcp-sdk", NEWEST, &[MCP_SDK])?;
    let output = host::python_command(&venv.python(), &binary, "scripts/sdk_subscriptions.py", &[])
        .output()
        .context("running scripts/sdk_subscriptions.py")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| {
            format!(
                "sdk_subscriptions.py printed no report ({}); stderr:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let report: Report = serde_json::from_str(line).with_context(|| format!("parsing {line:?}"))?;
    let max = report.updated_ms.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "subscriptions: {} timed updates to the subscriber, slowest {max:.1} ms; {} to the other session",
        report.updated_ms.len(),
        report.b_received
    );
    if !report.problems.is_empty() || !output.status.success() {
        bail!(
            "subscriptions ({}): {}\n{}",
            output.status,
            report.problems.join("; "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
