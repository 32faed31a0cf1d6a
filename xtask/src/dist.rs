//! `cargo xtask dist`: config → plan → toolchain → build → pack → sdist → checksums → check.
//! Every file reaches the output folder through `atomic` (temp name, then rename); a file whose
//! bytes would not change is not rewritten, so a rerun picks up where an interrupted one stopped.

mod pack;
mod report;
mod sdist;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::artifact::{ArtifactKind, MANIFEST_FILE, SUMS_FILE};
use crate::build::{self, Built, Tools};
use crate::checksums::{self, ManifestEntry};
use crate::config::Config;
use crate::target::{self, BuilderKind, Host, Target};
use crate::{atomic, flags, interrupt, toolchain};

pub use pack::{pack, PackInputs};
pub use report::TargetOutcome;

impl flags::Dist {
    pub fn run(self, sh: &Shell, cfg: &Config) -> Result<()> {
        let out = absolute(&self.out);
        let started = Instant::now();
        if let Some(parts) = &self.assemble {
            prepare_out(&out)?;
            let parts = absolute(parts);
            eprintln!(
                "==> assemble: the matrix jobs' wheels from {}",
                parts.display()
            );
            let mut fresh = crate::release_assets::collect_parts(&parts, &out, &cfg.version)?;
            for a in &fresh {
                eprintln!("    {} ({})", a.kind, a.target.as_deref().unwrap_or("?"));
            }
            let mut build = checksums::parts_build_record(&parts)?;
            if !self.no_sdist {
                fresh.push(sdist_artifact(sh, cfg, &out)?);
                build = build.map(|b| checksums::BuildRecord {
                    maturin: Some(toolchain::maturin_version()),
                    ..b
                });
            }
            return finish(sh, cfg, fresh, build, &[], &out, started, self.json);
        }
        let host = Host::detect(sh)?;
        let targets = target::plan(cfg, &host, &self.targets, self.builder)?;
        if self.plan {
            return report::print_plan(cfg, &host, &targets, &out, self.json);
        }
        prepare_out(&out)?;
        report::announce(cfg, &host, &targets, &out);

        let tools = bootstrap(sh, cfg, &targets)?;
        let signer = crate::sign::Signer::from_env(sh)?;
        let mut progress = build::Progress::for_stderr(self.json);
        let epoch = source_date_epoch(sh, cfg)?;
        // lld stamps a PE with SOURCE_DATE_EPOCH, or else with the clock.
        let built = {
            let _epoch = sh.push_env("SOURCE_DATE_EPOCH", epoch.to_string());
            build::build_all(sh, cfg, &targets, &tools, &mut progress)?
        };
        let record = build::record(sh, &targets, &tools, epoch, !self.no_sdist)?;
        let inputs = PackInputs::load(cfg, &targets, epoch)?;
        eprintln!(
            "==> pack: {} wheel(s), timestamps from {epoch}",
            targets.len()
        );
        let mut outcomes = Vec::new();
        let mut fresh = Vec::new();
        for (t, b) in targets.iter().zip(built) {
            interrupt::check()?;
            let b = crate::sign::apply(sh, signer.as_ref(), t, b, epoch)?;
            let outcome = pack_one(&inputs, t, b, &out)?;
            fresh.push(outcome.entry.clone());
            outcomes.push(outcome);
        }
        if !self.no_sdist {
            interrupt::check()?;
            fresh.push(sdist_artifact(sh, cfg, &out)?);
        }
        finish(
            sh,
            cfg,
            fresh,
            Some(record),
            &outcomes,
            &out,
            started,
            self.json,
        )
    }
}

/// Ctrl-C handling on, the output folder there, and temp files of a killed run gone.
fn prepare_out(out: &Path) -> Result<()> {
    interrupt::install();
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let stale = atomic::remove_stale_temps(out)?;
    if stale > 0 {
        eprintln!(
            "==> removed {stale} temp file(s) an interrupted run left in {}",
            out.display()
        );
    }
    Ok(())
}

/// Checksums and manifest over this run's artifacts (and earlier intact ones), check, summary.
#[allow(clippy::too_many_arguments)]
fn finish(
    sh: &Shell,
    cfg: &Config,
    fresh: Vec<ManifestEntry>,
    build: Option<checksums::BuildRecord>,
    outcomes: &[TargetOutcome],
    out: &Path,
    started: Instant,
    json: bool,
) -> Result<()> {
    interrupt::check()?;
    let manifest = write_checksums(sh, cfg, fresh, build, out)?;
    let paths: Vec<PathBuf> = manifest
        .artifacts
        .iter()
        .map(|a| out.join(a.file()))
        .collect();
    verify(cfg, &paths)?;
    report::summary(&manifest, outcomes, out, started.elapsed(), json)
}

/// `maturin sdist`, moved into the output folder unless it is already there byte for byte.
fn sdist_artifact(sh: &Shell, cfg: &Config, out: &Path) -> Result<ManifestEntry> {
    let epoch = source_date_epoch(sh, cfg)?;
    let (name, bytes) = sdist::build(sh, cfg, epoch)?;
    let written = write_if_changed(&out.join(name.to_string()), &bytes)?;
    eprintln!("    {} {name}", if written { "wrote" } else { "unchanged" });
    Ok(ManifestEntry {
        kind: ArtifactKind::Sdist(name),
        target: None,
        build_target: None,
        size: bytes.len() as u64,
        sha256: checksums::sha256_hex(&bytes),
        binary_sha256: None,
        builder: "maturin-sdist".into(),
    })
}

/// Installs what the plan's builders need, saying what each step does.
fn bootstrap(sh: &Shell, cfg: &Config, targets: &[Target]) -> Result<Tools> {
    let needs = |kind| targets.iter().any(|t| t.builder == kind);
    let local: Vec<&str> = targets
        .iter()
        .filter(|t| t.builder != BuilderKind::Cross)
        .map(|t| t.build_triple.as_str())
        .collect();
    if !local.is_empty() {
        toolchain::ensure_rust_targets(sh, &local)?;
    }
    Ok(Tools {
        zig: if needs(BuilderKind::Zig) {
            Some(toolchain::ensure_zig(sh)?)
        } else {
            None
        },
        cross: if needs(BuilderKind::Cross) {
            Some(toolchain::ensure_cross(sh)?)
        } else {
            None
        },
        auditable: if local.is_empty() {
            None
        } else {
            Some(build::Auditable::ensure(sh, cfg)?)
        },
    })
}

/// Packs one wheel and writes it unless the file already holds exactly these bytes.
fn pack_one(inputs: &PackInputs, t: &Target, b: Built, out: &Path) -> Result<TargetOutcome> {
    anyhow::ensure!(
        b.triple == t.triple,
        "built {} where {} was planned",
        b.triple,
        t.triple
    );
    let start = Instant::now();
    let binary_sha256 = checksums::sha256_hex(&b.bytes);
    let binary_size = b.bytes.len() as u64;
    let bytes = pack(inputs, t, b.bytes)?;
    let pack_seconds = start.elapsed().as_secs_f64();
    let written = write_if_changed(&out.join(t.wheel.to_string()), &bytes)?;
    let sha256 = checksums::sha256_hex(&bytes);
    eprintln!(
        "    {} {} ({}, {:.0} ms)",
        if written { "wrote" } else { "unchanged" },
        t.wheel,
        crate::util::human_size(bytes.len() as u64),
        pack_seconds * 1000.0
    );
    let entry = ManifestEntry {
        kind: ArtifactKind::Wheel(t.wheel.clone()),
        target: Some(t.triple.clone()),
        build_target: (t.build_triple != t.triple).then(|| t.build_triple.clone()),
        size: bytes.len() as u64,
        sha256,
        binary_sha256: Some(binary_sha256),
        builder: t.builder.to_string(),
    };
    Ok(TargetOutcome {
        entry,
        binary_size,
        build_seconds: b.seconds,
        pack_seconds,
        written,
        resigned: b.resigned,
    })
}

/// Atomically writes `bytes` to `path` unless it already holds them; true when it wrote.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(false);
    }
    atomic::write_with(path, |f| {
        use std::io::Write;
        f.write_all(bytes)?;
        // A Ctrl-C during the write keeps the earlier file: the temp one is removed instead.
        interrupt::check()
    })?;
    Ok(true)
}

/// Merges this run into dist-manifest.json and rewrites SHA256SUMS to match it.
fn write_checksums(
    sh: &Shell,
    cfg: &Config,
    fresh: Vec<ManifestEntry>,
    build: Option<checksums::BuildRecord>,
    out: &Path,
) -> Result<checksums::Manifest> {
    let previous = checksums::read_manifest(out).unwrap_or_else(|e| {
        eprintln!("    ignoring an unreadable earlier manifest: {e:#}");
        None
    });
    let commit = git_commit(sh, cfg);
    let manifest = checksums::merge(previous, &cfg.version, commit, fresh, build, out);
    let sums = checksums::sha256sums(&manifest.artifacts);
    write_if_changed(&out.join(SUMS_FILE), sums.as_bytes())?;
    let json = checksums::manifest_json(&manifest)?;
    write_if_changed(&out.join(MANIFEST_FILE), json.as_bytes())?;
    eprintln!(
        "==> checksums: {SUMS_FILE} and {MANIFEST_FILE} over {} artifact(s)",
        manifest.artifacts.len()
    );
    Ok(manifest)
}

/// The same verification `cargo xtask check` runs, over every artifact in the manifest.
fn verify(cfg: &Config, paths: &[PathBuf]) -> Result<()> {
    eprintln!("==> check: {} artifact(s)", paths.len());
    let report = crate::check::check_paths(paths, None, &crate::check::Payload::of(cfg))?;
    if !report.is_clean() {
        report
            .write_human(&mut std::io::stderr())
            .context("printing the check report")?;
        anyhow::bail!("`cargo xtask check` found problems in what dist wrote (listed above)");
    }
    Ok(())
}

/// `SOURCE_DATE_EPOCH`, else the last commit's time, else 1980 (the zip epoch).
pub fn source_date_epoch(sh: &Shell, cfg: &Config) -> Result<i64> {
    if let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") {
        return value
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={value:?} is not a number of seconds"));
    }
    let root = &cfg.workspace_root;
    let from_git = cmd!(sh, "git -C {root} log -1 --format=%ct")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .and_then(|s| s.trim().parse().ok());
    Ok(from_git.unwrap_or(315_532_800))
}

fn git_commit(sh: &Shell, cfg: &Config) -> Option<String> {
    let root = &cfg.workspace_root;
    cmd!(sh, "git -C {root} rev-parse HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `--out` relative to the project root (where `cargo xtask` runs).
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        crate::project_root().join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_bytes_are_not_rewritten() {
        let dir = std::env::temp_dir().join(format!("xtask-dist-write-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.whl");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }
}
