//! The gate `publish` and `github-release` both pass before anything leaves this machine:
//! `dist/` is one consistent release of the workspace version, complete (every configured
//! target's wheel and the sdist, unless `--allow-partial`), and `cargo xtask check` is clean on
//! every wheel and sdist in it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::artifact::ArtifactKind;
use crate::config::Config;
use crate::release_assets::Inventory;

/// The release in `dist`, once it has passed the gate.
pub fn open(dist: &Path, cfg: &Config, allow_partial: bool) -> Result<Inventory> {
    let inventory = Inventory::load(dist, &cfg.version)
        .context("refusing to release: dist/ is not one consistent release")?;
    let missing = missing(&inventory, &cfg.dist.targets);
    if !missing.is_empty() {
        let what = format!("{} lacks {}", inventory.dir.display(), missing.join(", "));
        if !allow_partial {
            bail!(
                "refusing to release a partial release: {what}; build them (`cargo xtask dist`) \
                 or pass --allow-partial"
            );
        }
        eprintln!("warning: partial release (--allow-partial): {what}");
    }
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

/// What a complete release has and this one lacks: a wheel per configured target, the sdist.
pub fn missing(inventory: &Inventory, targets: &[String]) -> Vec<String> {
    let built = &inventory.manifest.artifacts;
    let mut missing: Vec<String> = targets
        .iter()
        .filter(|t| {
            !built
                .iter()
                .any(|a| a.kind.wheel().is_some() && a.target.as_ref() == Some(*t))
        })
        .map(|t| format!("the wheel for {t}"))
        .collect();
    if !built
        .iter()
        .any(|a| matches!(a.kind, ArtifactKind::Sdist(_)))
    {
        missing.push("the sdist".into());
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release_assets::fixture::{drop_file, fake_dist, scratch, v, WHEELS};

    #[test]
    fn a_missing_target_or_sdist_is_named() {
        let targets: Vec<String> = WHEELS.iter().map(|(_, t)| t.to_string()).collect();
        let dir = scratch("gate-complete");
        fake_dist(&dir, "1.0.0");
        let complete = Inventory::load(&dir, &v("1.0.0")).unwrap();
        assert!(missing(&complete, &targets).is_empty());
        let mut more = targets.clone();
        more.push("riscv64gc-unknown-linux-gnu".into());
        assert_eq!(
            missing(&complete, &more),
            ["the wheel for riscv64gc-unknown-linux-gnu"]
        );

        let dir = scratch("gate-partial");
        fake_dist(&dir, "1.0.0");
        drop_file(&dir, "mcp_sidecar-1.0.0-py3-none-win_amd64.whl");
        drop_file(&dir, "mcp_sidecar-1.0.0.tar.gz");
        let partial = Inventory::load(&dir, &v("1.0.0")).unwrap();
        assert_eq!(
            missing(&partial, &targets),
            ["the wheel for x86_64-pc-windows-msvc", "the sdist"]
        );
    }
}
