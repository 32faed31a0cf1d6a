//! The gate `publish` and `github-release` both pass before anything leaves this machine:
//! `dist/` is one consistent release of the workspace version and `cargo xtask check` is clean
//! on every wheel and sdist in it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::release_assets::Inventory;

/// The release in `dist`, once it has passed the gate.
pub fn open(dist: &Path, cfg: &Config) -> Result<Inventory> {
    let inventory = Inventory::load(dist, &cfg.version)
        .context("refusing to release: dist/ is not one consistent release")?;
    let files: Vec<PathBuf> = inventory.distributions().map(|a| a.path.clone()).collect();
    let report = crate::check::check_paths(&files, None, &crate::check::Payload::of(cfg))
        .context("running `cargo xtask check`")?;
    if !report.is_clean() {
        let mut findings = Vec::new();
        report
            .write_human(&mut findings)
            .context("rendering the check report")?;
        bail!(
            "refusing to release: `cargo xtask check` found problems in {}:\n{}",
            inventory.dir.display(),
            String::from_utf8_lossy(&findings)
        );
    }
    Ok(inventory)
}
