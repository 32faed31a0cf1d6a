//! `cargo xtask check [PATH…]`: verifies wheels, sdists and bare binaries offline against their
//! tags and PyPI's upload rules. `dist` ends by calling `check_paths` on what it wrote.
//!
//! Rules, one module each: `zip_rules/` (1, zip structure), `wheel_rules/` (2 metadata, 3 payload),
//! `binary/` (4, native code vs its tags, with goblin), `sbom` (the PEP 770 SBOM), `sdist`; `headers` reads WHEEL/METADATA/PKG-INFO.
//! Any wheel gets rules 1, 2 and 4; this project's layout (3, the SBOM) only the configured one.
//! Findings are data (`finding.rs`); `report.rs` prints them. Never depends on `dist`: everything
//! comes from the bytes, the tag and the `Payload` the caller takes from the config.

pub(crate) mod authenticode;
mod binary;
mod dep_list;
mod finding;
mod headers;
mod report;
mod sbom;
mod sdist;
mod wheel_rules;
mod zip_rules;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

pub use finding::Severity;
pub use report::{Checked, FileKind, Report, MAX_PER_KIND};
// For `bench dist`, which times these rules on their own.
pub(crate) use dep_list::section as dep_list_section;
pub(crate) use sbom::check as sbom_rule;

/// Every finding code (`elf-glibc-too-new`, …), as `--json` spells them.
#[cfg(test)]
pub fn kind_codes() -> impl Iterator<Item = &'static str> {
    finding::Kind::ALL.iter().map(|k| k.code())
}

use crate::config::Config;
use crate::flags;
use crate::wheel::{DistName, PlatformTag};

/// Where a platform wheel of the configured distribution carries its one binary:
/// `<python-package>/<native-dir>/<binary>[.exe]`, as `[workspace.metadata.dist]` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// Wheels of this distribution get the layout rules; any other wheel does not.
    pub distribution: DistName,
    pub python_package: String,
    pub native_dir: String,
    pub binary: String,
}

impl Payload {
    pub fn of(cfg: &Config) -> Payload {
        Payload {
            distribution: cfg.name.clone(),
            python_package: cfg.dist.python_package.clone(),
            native_dir: cfg.dist.native_dir.clone(),
            binary: cfg.dist.binary.clone(),
        }
    }
}

/// Usage and I/O problems: exit code 2, unlike findings (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: no wheels (*.whl) or sdists (*.tar.gz) in this directory")]
    NothingToCheck(PathBuf),
    #[error("{0}: not a wheel or sdist; pass --expect-tag TAG to check it as a bare binary")]
    NeedTag(PathBuf),
    #[error("--expect-tag {tag}: {source}")]
    BadTag {
        tag: String,
        source: crate::wheel::tag::TagError,
    },
}

impl flags::Check {
    pub fn run(self, _sh: &Shell, cfg: &Config) -> Result<ExitCode> {
        if self.list_kinds {
            report::write_kinds(&mut std::io::stdout().lock(), self.json)?;
            return Ok(ExitCode::SUCCESS);
        }
        let paths = if self.paths.is_empty() {
            vec![default_dist()]
        } else {
            self.paths
        };
        let report = check_paths(&paths, self.expect_tag.as_deref(), &Payload::of(cfg))?;
        report.print(self.json)?;
        Ok(if report.passes(self.strict) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

/// `dist/` relative to where the user stands, else the workspace's.
fn default_dist() -> PathBuf {
    let here = PathBuf::from("dist");
    if here.is_dir() {
        here
    } else {
        crate::project_root().join("dist")
    }
}

/// Checks every wheel and sdist in the given directories, and the given files (a bare binary
/// needs `expect_tag`). `Err` only for usage or I/O problems; findings are in the report.
pub fn check_paths(
    paths: &[PathBuf],
    expect_tag: Option<&str>,
    payload: &Payload,
) -> Result<Report> {
    let tag = expect_tag
        .map(|t| {
            PlatformTag::parse(t).map_err(|source| CheckError::BadTag {
                tag: t.to_string(),
                source,
            })
        })
        .transpose()?;
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CheckError::NotFound(path.clone()),
            _ => CheckError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            // The one lister of a release directory: wheels and the sdist, never a stray file.
            let found: Vec<PathBuf> = crate::artifact::list_release_dir(path)?
                .into_iter()
                .filter(|a| a.kind.is_distribution())
                .map(|a| a.path)
                .collect();
            if found.is_empty() {
                return Err(CheckError::NothingToCheck(path.clone()).into());
            }
            files.extend(found);
        } else {
            if FileKind::of(path) == FileKind::Binary && tag.is_none() {
                return Err(CheckError::NeedTag(path.clone()).into());
            }
            files.push(path.clone());
        }
    }
    // Two cores on the build machines: files are independent, check them side by side.
    let results: Vec<Result<Checked, CheckError>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|file| s.spawn(|| check_file(file, tag.as_ref(), payload)))
            .collect();
        handles
            .into_iter()
            .zip(&files)
            .map(|(h, file)| {
                h.join().unwrap_or_else(|_| {
                    Err(CheckError::Io {
                        path: file.clone(),
                        source: std::io::Error::other("the checker panicked on this file"),
                    })
                })
            })
            .collect()
    });
    Ok(Report {
        artifacts: results.into_iter().collect::<Result<_, _>>()?,
    })
}

fn check_file(
    path: &Path,
    tag: Option<&PlatformTag>,
    payload: &Payload,
) -> Result<Checked, CheckError> {
    let bytes = std::fs::read(path).map_err(|source| CheckError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kind = FileKind::of(path);
    let (mut findings, binaries) = match (kind, tag) {
        (FileKind::Wheel, _) => {
            let (findings, summary) = wheel_rules::check(&name, &bytes, payload);
            (findings, summary.binaries)
        }
        (FileKind::Sdist, _) => (sdist::check(&name, &bytes), Vec::new()),
        (FileKind::Binary, Some(tag)) => {
            let (findings, facts) = binary::check(&bytes, &tag.expectation(), &binary::bare());
            (findings, facts.into_iter().collect())
        }
        (FileKind::Binary, None) => return Err(CheckError::NeedTag(path.to_path_buf())),
    };
    for f in &mut findings {
        f.file = path.to_path_buf();
    }
    Ok(Checked {
        file: path.to_path_buf(),
        kind,
        size: bytes.len() as u64,
        binaries,
        findings,
    })
}

/// The in-memory entry points the tests and fuzzers drive (no file system).
#[cfg(test)]
pub(crate) fn check_wheel_bytes(file_name: &str, bytes: &[u8]) -> Vec<finding::Finding> {
    wheel_rules::check(file_name, bytes, &fixtures::payload()).0
}

#[cfg(test)]
pub(crate) fn check_sdist_bytes(file_name: &str, bytes: &[u8]) -> Vec<finding::Finding> {
    sdist::check(file_name, bytes)
}

#[cfg(test)]
pub(crate) fn check_binary_bytes(bytes: &[u8], tag: &str) -> Vec<finding::Finding> {
    let tag = PlatformTag::parse(tag).expect("test tags parse");
    binary::check(bytes, &tag.expectation(), &binary::bare()).0
}
