//! The release workflow's assemble step, run here on matrix-shaped input: dist/ split into one
//! folder per target (wheel + its own SHA256SUMS and manifest, as each build job uploads it),
//! then `cargo xtask dist --assemble` must give back the same wheels and manifest entries.

use anyhow::{ensure, Context, Result};

use super::{dist_dir, output, scratch, text, xtask};
use crate::checksums::{self, Manifest};
use crate::config::Config;
use crate::release_assets::{Inventory, MANIFEST, SUMS};

pub fn run(cfg: &Config) -> Result<()> {
    let version = &cfg.version;
    let dist = dist_dir();
    let inventory = Inventory::load(&dist, version)
        .context("dist/ is not a complete release; run the dist suite (cargo xtask dist) first")?;
    let parts = scratch("assemble-parts")?;
    let wheels: Vec<_> = inventory
        .manifest
        .artifacts
        .iter()
        .filter(|a| a.kind.wheel().is_some())
        .collect();
    for artifact in &wheels {
        let target = artifact
            .target
            .as_deref()
            .context("a wheel without a target")?;
        let part = parts.join(format!("dist-{target}"));
        std::fs::create_dir_all(&part)?;
        std::fs::copy(dist.join(artifact.file()), part.join(artifact.file()))?;
        let one = vec![(*artifact).clone()];
        std::fs::write(part.join(SUMS), checksums::sha256sums(&one))?;
        let manifest = Manifest {
            version: version.clone(),
            commit: inventory.manifest.commit.clone(),
            artifacts: one,
            build: None,
        };
        std::fs::write(part.join(MANIFEST), checksums::manifest_json(&manifest)?)?;
    }
    let out = scratch("assemble-out")?;
    let (parts_arg, out_arg) = (parts.display().to_string(), out.display().to_string());
    let result = output(&mut xtask(&[
        "dist",
        "--assemble",
        &parts_arg,
        "--dist",
        &out_arg,
    ])?)?;
    ensure!(
        result.status.success(),
        "dist --assemble failed:\n{}",
        text(&result)
    );
    let assembled =
        Inventory::load(&out, version).context("the assembled release is not consistent")?;
    for artifact in &wheels {
        let theirs = assembled
            .manifest
            .artifacts
            .iter()
            .find(|a| a.file() == artifact.file());
        ensure!(
            theirs == Some(*artifact),
            "assembled manifest entry for {} differs: {theirs:?}",
            artifact.file()
        );
        ensure!(
            std::fs::read(out.join(artifact.file()))? == std::fs::read(dist.join(artifact.file()))?,
            "assembled {} differs from dist/",
            artifact.file()
        );
    }
    ensure!(
        assembled.distributions().count() == wheels.len() + 1,
        "assembled release lacks the sdist or has extra files"
    );
    eprintln!(
        "assemble: {} matrix parts → the same wheels, manifest entries and a fresh sdist",
        wheels.len()
    );
    Ok(())
}
