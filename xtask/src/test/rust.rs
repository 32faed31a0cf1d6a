//! Unit and integration tests of every crate in the workspace.

use anyhow::Result;
use xshell::{cmd, Shell};

pub fn run(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo test --workspace --all-targets").run()?;
    Ok(())
}
