//! The Python package's pytest suite, against the sidecar built from this workspace, on the
//! oldest (3.7) and newest supported CPython.

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::python_env::{Venv, NEWEST, OLDEST};

pub fn run(sh: &Shell) -> Result<()> {
    cmd!(sh, "cargo build --package mcp-sidecar").run()?;
    let binary = crate::project_root().join(format!(
        "target/debug/mcp-sidecar{}",
        std::env::consts::EXE_SUFFIX
    ));
    for version in [OLDEST, NEWEST] {
        let venv = Venv::ensure(
            sh,
            &format!("test-py{version}"),
            version,
            &["pytest", "vermin==1.9.2"],
        )?;
        let python = venv.python();
        let _env = sh.push_env("MCP_SIDECAR_BINARY", &binary);
        // Import the package from the source tree, not from an install.
        let _path = sh.push_env("PYTHONPATH", crate::project_root().join("python"));
        cmd!(sh, "{python} -m pytest -q -p no:cacheprovider python/tests")
            .run()
            .with_context(|| format!("pytest on Python {version}"))?;
    }
    Ok(())
}
