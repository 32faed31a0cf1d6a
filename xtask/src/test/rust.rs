//! Unit and integration tests of every crate in the workspace; on Linux also the sidecar
//! crate's tests built for Windows and run under wine (the named-pipe transport).

use anyhow::Result;
use xshell::{cmd, Shell};

pub fn run(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo test --workspace --all-targets").run()?;
    if cfg!(target_os = "linux") {
        eprintln!("==> mcp-sidecar tests for Windows under wine (named pipe and TCP)");
        super::dist::wine::run_crate_tests(sh)?;
    }
    Ok(())
}
