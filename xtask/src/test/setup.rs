//! Before any suite: the system packages and rustup pieces `scripts/setup-debian.sh` provides.
//! As root the script runs when something is missing; otherwise the run stops with the command.

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

const SCRIPT: &str = "scripts/setup-debian.sh";

pub fn ensure_system_packages(sh: &Shell) -> Result<()> {
    // The script is Debian's (dpkg, apt); other machines are set up by their CI workflow.
    if !cfg!(target_os = "linux") || crate::util::which("dpkg-query").is_none() {
        return Ok(());
    }
    let check = cmd!(sh, "bash {SCRIPT} --check")
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("running {SCRIPT} --check"))?;
    if check.status.success() {
        return Ok(());
    }
    let missing = String::from_utf8_lossy(&check.stdout).trim().to_string();
    if !is_root() {
        bail!(
            "this machine lacks what the suites need ({missing}); install it with\n\n    \
             bash {SCRIPT}\n\n(it asks sudo for apt-get), then run `cargo xtask test` again"
        );
    }
    eprintln!("==> {missing}: running {SCRIPT}");
    cmd!(sh, "bash {SCRIPT}")
        .run()
        .with_context(|| format!("{SCRIPT} failed"))
}

fn is_root() -> bool {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    return unsafe { libc::geteuid() } == 0;
    #[cfg(not(unix))]
    false
}
