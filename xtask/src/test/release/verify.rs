//! `cargo xtask verify-release` over the dist suite's release: every file rebuilds byte for byte
//! from this checkout (warm: cargo has nothing to compile, only the packing runs again). Then one
//! byte of one wheel flipped, SHA256SUMS updated to match (a release whose bytes this source does
//! not make): it must fail, naming the file, the member holding that byte and the offset.

use std::io::Cursor;
use std::path::Path;

use anyhow::{ensure, Context, Result};

use super::{copy_release, dist_dir, output, rewrite_sum, scratch, text, wheel_of, xtask};
use crate::config::Config;
use crate::release_assets::{self, Inventory, SUMS};

pub fn run(cfg: &Config) -> Result<()> {
    let dist = dist_dir();
    let inventory = Inventory::load(&dist, &cfg.version)
        .context("dist/ is not a complete release; run the dist suite (cargo xtask dist) first")?;
    let before = release_assets::sha256_file(&dist.join(SUMS))?;
    let verify = |dir: &Path| {
        output(&mut xtask(&[
            "verify-release",
            "--dist",
            &dir.display().to_string(),
        ])?)
    };

    let out = verify(&dist)?;
    ensure!(
        out.status.success(),
        "verify-release failed on dist/:\n{}",
        text(&out)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    for (file, sha) in &inventory.sums {
        ensure!(
            table.lines().any(|l| l.starts_with(file.as_str())
                && l.matches(sha.as_str()).count() == 2
                && l.ends_with("yes")),
            "the table lacks a matching row for {file}:\n{table}"
        );
    }
    ensure!(
        release_assets::sha256_file(&dist.join(SUMS))? == before
            && Inventory::load(&dist, &cfg.version).is_ok(),
        "verify-release changed the release it verified"
    );

    let (wheel, _) = wheel_of(&dist, cfg)?;
    let bad = copy_release(&dist, &scratch("verify-flipped")?)?;
    let path = bad.join(&wheel);
    let mut bytes = std::fs::read(&path)?;
    let at = bytes.len() / 2;
    let member = member_at(&bytes, at as u64)?;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes)?;
    rewrite_sum(&bad, &wheel)?;

    let out = verify(&bad)?;
    let said = text(&out);
    ensure!(
        out.status.code() == Some(1),
        "verify-release did not fail (exit 1) on a flipped byte:\n{said}"
    );
    let error = said
        .lines()
        .find(|l| l.starts_with("error: ") && l.contains(&wheel))
        .with_context(|| format!("no error line names {wheel}:\n{said}"))?;
    ensure!(
        error.contains(&format!("member {member}")) && error.contains(&format!("file offset {at}")),
        "the error does not name member {member} and file offset {at}: {error}"
    );
    ensure!(
        said.lines().filter(|l| l.starts_with("error: ")).count() == 1,
        "other files were reported too:\n{said}"
    );
    eprintln!(
        "verify-release: {} files rebuilt identically; a flipped byte in {wheel} named ({member})",
        inventory.sums.len()
    );
    Ok(())
}

/// The zip member whose stored bytes hold file offset `at`.
fn member_at(wheel: &[u8], at: u64) -> Result<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(wheel)).context("opening the wheel")?;
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i)?;
        let start = file
            .data_start()
            .context("a member without a data offset")?;
        if (start..start + file.compressed_size()).contains(&at) {
            return Ok(file.name()?.to_string());
        }
    }
    anyhow::bail!("offset {at} is in no member's data")
}
