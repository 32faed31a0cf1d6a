//! The sidecar side by side with the official Python SDK's own server (`MCPServer`, streamable
//! HTTP): the same tool and resource to the same keep-alive client in one run, as the machine is
//! and with CPU burners; plus the `resources/updated` fan-out to 50 subscribed sessions. The
//! driver is `scripts/bench_mcp_peer.py`, in the venv of the `subscriptions` suite.

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::python_env::{Venv, NEWEST};
use crate::test::MCP_SDK;

pub fn run(sh: &Shell, json: bool) -> Result<()> {
    cmd!(sh, "cargo build --release --package mcp-sidecar").run()?;
    let binary = crate::project_root().join(format!(
        "target/release/mcp-sidecar{}",
        std::env::consts::EXE_SUFFIX
    ));
    let venv = Venv::ensure(sh, "mcp-sdk", NEWEST, &[MCP_SDK])?;
    let python = venv.python();
    let _path = sh.push_env("PYTHONPATH", crate::project_root().join("python"));
    let _bin = sh.push_env("MCP_SIDECAR_BINARY", &binary);
    let json_flag = if json { Some("--json") } else { None };
    cmd!(sh, "{python} scripts/bench_mcp_peer.py {json_flag...}")
        .run()
        .context("running scripts/bench_mcp_peer.py")?;
    Ok(())
}
