//! Formatting and lints: rustfmt, clippy with warnings denied, and Python 3.7 syntax via vermin.

use anyhow::Result;
use xshell::{cmd, Shell};

use crate::python_env::{Venv, NEWEST};

pub fn run(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo fmt --all --check").run()?;
    cmd!(
        sh,
        "cargo clippy --workspace --all-targets --quiet -- -D warnings"
    )
    .run()?;
    let venv = Venv::ensure(sh, "lint", NEWEST, &["vermin==1.9.2"])?;
    let vermin = venv.bin("vermin");
    // Fails on any construct newer than 3.7 in the package users import.
    cmd!(
        sh,
        "{vermin} --target=3.7- --no-tips --violations --eval-annotations python/mcp_sidecar scripts"
    )
    .run()?;
    Ok(())
}
