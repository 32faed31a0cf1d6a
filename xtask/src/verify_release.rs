//! `cargo xtask verify-release [--dist DIR]`: rebuilds, from this checkout, every file a release
//! lists, the way its manifest says the release built them (the same `--builder` and `--target`
//! set per `dist` invocation, so cargo unifies features as the CI job did), into a scratch folder
//! under `target/verify-release/` (the release folder is only read), and compares each file with
//! the release's SHA256SUMS. A mismatch names the file, the first differing member inside it and
//! the first differing offset. Toolchain versions other than the recorded ones are refused first:
//! different compilers give different bytes, and that proves nothing about the release.

pub(crate) mod diff;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::checksums::{read_manifest, sha256_hex, BuildRecord, Invocation};
use crate::config::Config;
use crate::flags;
use crate::release_assets::{parse_sums, MANIFEST, SUMS};

pub use diff::{members, Container};

/// One row of the report.
#[derive(Debug, PartialEq, Eq)]
pub struct Row {
    pub file: String,
    pub expected: String,
    /// None: the rebuild did not produce this file.
    pub rebuilt: Option<String>,
    /// The release folder's own copy, when it is there.
    pub in_release: Option<String>,
}

impl Row {
    pub fn matches(&self) -> bool {
        self.rebuilt.as_ref() == Some(&self.expected)
            && self.in_release.as_ref().is_none_or(|h| *h == self.expected)
    }
}

impl flags::VerifyRelease {
    pub fn run(self, sh: &Shell, cfg: &Config) -> Result<ExitCode> {
        let dist = absolute(&self.dist);
        let sums_path = dist.join(SUMS);
        let sums = parse_sums(
            &std::fs::read_to_string(&sums_path)
                .with_context(|| format!("reading {}", sums_path.display()))?,
        )?;
        let record = read_record(&dist, cfg)?;
        check_toolchain(&record, &probe_toolchain(sh, &record)?)?;
        let scratch = crate::project_root().join("target/verify-release");
        // A fresh folder: nothing of an earlier or interrupted run can be taken for a rebuilt file.
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .with_context(|| format!("removing {}", scratch.display()))?;
        }
        let with_sdist = sums.keys().any(|f| f.ends_with(".tar.gz"));
        let dirs = rebuild(sh, &record, &scratch, with_sdist)?;
        let rows = compare(&sums, &dist, &dirs)?;
        print!("{}", render_table(&rows));
        let bad: Vec<&Row> = rows.iter().filter(|r| !r.matches()).collect();
        if bad.is_empty() {
            eprintln!(
                "==> verify-release: all {} files rebuilt byte for byte from this checkout",
                rows.len()
            );
            std::fs::remove_dir_all(&scratch)
                .with_context(|| format!("removing {}", scratch.display()))?;
            return Ok(ExitCode::SUCCESS);
        }
        for row in bad {
            eprintln!("error: {}", explain(row, &dist, &dirs));
        }
        eprintln!("(the rebuilt files are kept in {})", scratch.display());
        Ok(ExitCode::from(1))
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        crate::project_root().join(path)
    }
}

fn read_record(dist: &Path, cfg: &Config) -> Result<BuildRecord> {
    let path = dist.join(MANIFEST);
    let manifest = read_manifest(dist)?.with_context(|| format!("no {}", path.display()))?;
    ensure!(
        manifest.version == cfg.version,
        "the release is version {}, this checkout is {}: check out the release's commit ({})",
        manifest.version,
        cfg.version,
        manifest.commit.as_deref().unwrap_or("not recorded")
    );
    let record = manifest.build.with_context(|| {
        format!(
            "{} records no `build` (toolchain versions and dist invocations): \
             this release cannot be rebuilt the way it was built",
            path.display()
        )
    })?;
    ensure!(
        !record.invocations.is_empty(),
        "{} records no dist invocation",
        path.display()
    );
    Ok(record)
}

/// The versions a rebuild here would use, asked only of the tools the record names.
fn probe_toolchain(sh: &Shell, record: &BuildRecord) -> Result<BuildRecord> {
    let zig = match record.zig.is_some() || record.cargo_zigbuild.is_some() {
        true => Some(crate::toolchain::ensure_zig(sh)?),
        false => None,
    };
    Ok(BuildRecord {
        rustc: crate::toolchain::rustc_version(sh)?,
        zig: zig.as_ref().map(|z| z.zig_version.clone()),
        cargo_zigbuild: zig.map(|z| z.cargo_zigbuild_version),
        // cargo-auditable has no --version; dist installs and records its pin.
        cargo_auditable: record
            .cargo_auditable
            .as_ref()
            .map(|_| crate::toolchain::CARGO_AUDITABLE.version_line()),
        maturin: record
            .maturin
            .as_ref()
            .map(|_| crate::toolchain::maturin_version()),
        source_date_epoch: record.source_date_epoch,
        invocations: Vec::new(),
    })
}

/// Refuses, naming each tool, when this machine's versions are not the recorded ones.
pub fn check_toolchain(record: &BuildRecord, here: &BuildRecord) -> Result<()> {
    let tools = [
        ("rustc", Some(&record.rustc), Some(&here.rustc)),
        ("zig", record.zig.as_ref(), here.zig.as_ref()),
        (
            "cargo-zigbuild",
            record.cargo_zigbuild.as_ref(),
            here.cargo_zigbuild.as_ref(),
        ),
        (
            "cargo-auditable",
            record.cargo_auditable.as_ref(),
            here.cargo_auditable.as_ref(),
        ),
        ("maturin", record.maturin.as_ref(), here.maturin.as_ref()),
    ];
    let differ: Vec<String> = tools
        .iter()
        .filter_map(|(tool, recorded, found)| {
            let recorded = recorded.as_ref()?;
            let found = found.map_or("(none)", |f| f.trim());
            (recorded.trim() != found).then(|| {
                format!(
                    "{tool}: `{found}` here, `{}` in the release",
                    recorded.trim()
                )
            })
        })
        .collect();
    ensure!(
        differ.is_empty(),
        "refusing to verify: the toolchain differs from the one the release was built with ({}); \
         other compilers give other bytes, so a mismatch would prove nothing",
        differ.join("; ")
    );
    Ok(())
}

/// One `cargo xtask dist` per recorded invocation, each into its own folder under `scratch`;
/// the last also makes the sdist when the release has one. A run that fails is reported and
/// its folder left out (its files count as not rebuilt), so the others are still compared.
fn rebuild(
    sh: &Shell,
    record: &BuildRecord,
    scratch: &Path,
    with_sdist: bool,
) -> Result<Vec<PathBuf>> {
    // Not util::self_exe: that clears target/xtask/self, where a parent test run's copy lives.
    let xtask = std::env::current_exe().context("locating the running xtask")?;
    let _epoch = sh.push_env("SOURCE_DATE_EPOCH", record.source_date_epoch.to_string());
    let mut dirs = Vec::new();
    for (n, invocation) in record.invocations.iter().enumerate() {
        let out = scratch.join(format!("dist-{}", n + 1));
        let args = dist_args(
            invocation,
            &out,
            with_sdist && n + 1 == record.invocations.len(),
        );
        eprintln!("==> verify-release: cargo xtask {}", args.join(" "));
        match cmd!(sh, "{xtask} {args...}").run() {
            Ok(()) => dirs.push(out),
            Err(e) => eprintln!(
                "error: rebuilding {} failed ({e}); its files count as not rebuilt",
                invocation.targets.join(", ")
            ),
        }
    }
    Ok(dirs)
}

/// The argv of one rebuild: the recorded builder and target set, into `out`.
pub fn dist_args(invocation: &Invocation, out: &Path, sdist: bool) -> Vec<String> {
    let mut args = vec![
        "dist".into(),
        "--builder".into(),
        invocation.builder.to_string(),
    ];
    for target in &invocation.targets {
        args.push("--target".into());
        args.push(target.clone());
    }
    args.push("--dist".into());
    args.push(out.display().to_string());
    if !sdist {
        args.push("--no-sdist".into());
    }
    args
}

/// One row per file of SHA256SUMS: its recorded hash, the rebuilt file's and the release copy's.
fn compare(sums: &BTreeMap<String, String>, dist: &Path, dirs: &[PathBuf]) -> Result<Vec<Row>> {
    sums.iter()
        .map(|(file, expected)| {
            let hash = |path: PathBuf| -> Result<Option<String>> {
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(sha256_hex(&bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
                }
            };
            let rebuilt = match rebuilt_path(dirs, file) {
                Some(path) => hash(path)?,
                None => None,
            };
            Ok(Row {
                file: file.clone(),
                expected: expected.clone(),
                rebuilt,
                in_release: hash(dist.join(file))?,
            })
        })
        .collect()
}

fn rebuilt_path(dirs: &[PathBuf], file: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(file)).find(|p| p.is_file())
}

/// `file  expected  rebuilt  match` (hashes in full: they are what a reader compares).
pub fn render_table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.file.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:width$}  {:64}  {:64}  match\n",
        "file", "expected sha256 (SHA256SUMS)", "rebuilt sha256"
    );
    for row in rows {
        let rebuilt = row.rebuilt.as_deref().unwrap_or("(not rebuilt)");
        let verdict = if row.matches() { "yes" } else { "NO" };
        out.push_str(&format!(
            "{:width$}  {:64}  {:64}  {verdict}\n",
            row.file, row.expected, rebuilt
        ));
    }
    out
}

/// Why one row does not match: which copy differs, and where inside the file.
fn explain(row: &Row, dist: &Path, dirs: &[PathBuf]) -> String {
    let file = &row.file;
    let Some(rebuilt) = rebuilt_path(dirs, file) else {
        return format!("{file}: the rebuild made no such file");
    };
    let mut message = match (&row.rebuilt, &row.in_release) {
        (Some(r), Some(d)) if r == d => {
            format!("{file}: the release's copy and the rebuild agree, SHA256SUMS says otherwise")
        }
        (_, Some(d)) if *d != row.expected => format!(
            "{file}: the release's copy (sha256 {d}) is not the file SHA256SUMS records, and the rebuild differs from it"
        ),
        _ => format!("{file}: the rebuild differs from the release"),
    };
    let located = std::fs::read(dist.join(file))
        .ok()
        .zip(std::fs::read(&rebuilt).ok())
        .and_then(|(release, ours)| diff::locate(Container::of(file), &release, &ours));
    match located {
        Some(d) => message.push_str(&format!(": {d}")),
        None if row.in_release.is_none() => {
            message.push_str(" (the release folder has no copy to locate the difference in)")
        }
        None => {}
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> BuildRecord {
        serde_json::from_str(json).unwrap()
    }

    const RECORD: &str = r#"{"rustc": "rustc 1.95.0 (x 2026-01-01)", "zig": "0.17.1",
        "cargo_zigbuild": "cargo-zigbuild 0.24.0", "cargo_auditable": null,
        "maturin": "maturin 1.16.0", "source_date_epoch": 1700000000,
        "invocations": [{"builder": "zig", "targets": ["a", "b"]},
                        {"builder": "native", "targets": ["c"]}]}"#;

    #[test]
    fn the_record_drives_the_rebuild() {
        let r = record(RECORD);
        let first = dist_args(&r.invocations[0], Path::new("/s/1"), false);
        assert_eq!(
            first,
            [
                "dist",
                "--builder",
                "zig",
                "--target",
                "a",
                "--target",
                "b",
                "--dist",
                "/s/1",
                "--no-sdist"
            ]
        );
        let last = dist_args(&r.invocations[1], Path::new("/s/2"), true);
        assert_eq!(&last[..3], ["dist", "--builder", "native"]);
        assert!(!last.contains(&"--no-sdist".to_string()), "{last:?}");
    }

    #[test]
    fn other_toolchain_versions_are_refused_by_name() {
        let r = record(RECORD);
        let same = BuildRecord {
            invocations: Vec::new(),
            ..r.clone()
        };
        check_toolchain(&r, &same).unwrap();
        let other = BuildRecord {
            rustc: "rustc 1.96.0 (y)".into(),
            zig: None,
            ..same
        };
        let err = check_toolchain(&r, &other).unwrap_err().to_string();
        assert!(err.contains("refusing to verify"), "{err}");
        assert!(
            err.contains(
                "rustc: `rustc 1.96.0 (y)` here, `rustc 1.95.0 (x 2026-01-01)` in the release"
            ),
            "{err}"
        );
        assert!(
            err.contains("zig: `(none)` here, `0.17.1` in the release"),
            "{err}"
        );
        assert!(
            !err.contains("cargo-zigbuild") && !err.contains("maturin"),
            "{err}"
        );
    }

    #[test]
    fn a_row_matches_only_when_both_copies_are_the_recorded_bytes() {
        let row = |rebuilt: Option<&str>, in_release: Option<&str>| Row {
            file: "a.whl".into(),
            expected: "e".into(),
            rebuilt: rebuilt.map(String::from),
            in_release: in_release.map(String::from),
        };
        assert!(row(Some("e"), Some("e")).matches());
        assert!(row(Some("e"), None).matches());
        assert!(!row(Some("x"), Some("e")).matches());
        assert!(!row(Some("e"), Some("x")).matches());
        assert!(!row(None, Some("e")).matches());
        let table = render_table(&[row(Some("e"), Some("e")), row(None, None)]);
        assert!(table.lines().nth(1).unwrap().ends_with("yes"), "{table}");
        assert!(
            table.contains("(not rebuilt)") && table.ends_with("NO\n"),
            "{table}"
        );
    }
}
