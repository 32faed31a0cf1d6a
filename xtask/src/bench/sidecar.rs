//! The sidecar's goals: spawn → READY latency, tools/call round trip, resident memory idle and
//! under 50 clients, stripped binary size. The host side is `scripts/bench_sidecar.py`.

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::python_env::{Venv, NEWEST};

pub fn run(sh: &Shell, json: bool) -> Result<()> {
    cmd!(sh, "cargo build --release --package mcp-sidecar").run()?;
    let binary = crate::project_root().join(format!(
        "target/release/mcp-sidecar{}",
        std::env::consts::EXE_SUFFIX
    ));
    let size = std::fs::metadata(&binary)
        .with_context(|| format!("reading {}", binary.display()))?
        .len();
    let venv = Venv::ensure(sh, "bench", NEWEST, &[])?;
    let python = venv.python();
    let _path = sh.push_env("PYTHONPATH", crate::project_root().join("python"));
    let _bin = sh.push_env("MCP_SIDECAR_BINARY", &binary);
    let json_flag = if json { Some("--json") } else { None };
    let size_arg = size.to_string();
    cmd!(
        sh,
        "{python} scripts/bench_sidecar.py --binary-size {size_arg} {json_flag...}"
    )
    .run()
    .context("running scripts/bench_sidecar.py")?;
    Ok(())
}
