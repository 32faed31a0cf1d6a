//! `cargo xtask check [PATH…]`: verifies wheels, sdists and bare binaries offline against their
//! tags and PyPI's upload rules. `dist` ends by calling `check_paths` on what it wrote.
//!
//! Rules, one module each: `zip_rules` (1, zip structure), `wheel_rules` (2 metadata, 3 payload),
//! `binary/` (4, the binary vs its tag, with goblin), `sdist`. Findings are data (`finding.rs`);
//! `report.rs` prints them. Never depends on `dist`: everything comes from the bytes and the tag.

mod binary;
mod finding;
mod report;
mod sdist;
mod wheel_rules;
mod zip_rules;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

pub use finding::Finding;
pub use report::{Artifact, ArtifactKind, Report};

use crate::flags;
use crate::wheel::PlatformTag;

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
    pub fn run(self, _sh: &Shell, _cfg: &crate::config::Config) -> Result<ExitCode> {
        if self.list_kinds {
            report::write_kinds(&mut std::io::stdout().lock(), self.json)?;
            return Ok(ExitCode::SUCCESS);
        }
        let paths = if self.paths.is_empty() {
            vec![default_dist()]
        } else {
            self.paths
        };
        let report = check_paths(&paths, self.expect_tag.as_deref())?;
        report.print(self.json)?;
        Ok(if report.is_clean() {
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

/// What a file is, decided by its name once.
enum Input {
    Wheel,
    Sdist,
    Binary,
}

fn classify(path: &Path) -> Input {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".whl") {
        Input::Wheel
    } else if name.ends_with(".tar.gz") {
        Input::Sdist
    } else {
        Input::Binary
    }
}

/// Checks every wheel and sdist in the given directories, and the given files (a bare binary
/// needs `expect_tag`). `Err` only for usage or I/O problems; findings are in the report.
pub fn check_paths(paths: &[PathBuf], expect_tag: Option<&str>) -> Result<Report> {
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
            let found = list_dir(path)?;
            if found.is_empty() {
                return Err(CheckError::NothingToCheck(path.clone()).into());
            }
            files.extend(found);
        } else {
            if matches!(classify(path), Input::Binary) && tag.is_none() {
                return Err(CheckError::NeedTag(path.clone()).into());
            }
            files.push(path.clone());
        }
    }
    // Two cores on the build machines: files are independent, check them side by side.
    let results: Vec<Result<(Vec<Finding>, Artifact), CheckError>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|file| s.spawn(|| check_file(file, tag.as_ref())))
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
    let mut report = Report::default();
    for result in results {
        let (findings, artifact) = result?;
        report.findings.extend(findings);
        report.artifacts.push(artifact);
    }
    Ok(report)
}

/// The wheels and sdists directly inside `dir`, sorted (SHA256SUMS, manifests etc. are skipped).
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, CheckError> {
    let io = |source| CheckError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        // Temp files of an interrupted atomic write are not artifacts.
        if name.is_some_and(|n| n.starts_with(crate::atomic::TEMP_PREFIX)) || !path.is_file() {
            continue;
        }
        if matches!(classify(&path), Input::Wheel | Input::Sdist) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn check_file(
    path: &Path,
    tag: Option<&PlatformTag>,
) -> Result<(Vec<Finding>, Artifact), CheckError> {
    let bytes = std::fs::read(path).map_err(|source| CheckError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (kind, mut findings, binaries) = match (classify(path), tag) {
        (Input::Wheel, _) => {
            let (findings, summary) = wheel_rules::check(&name, &bytes);
            (ArtifactKind::Wheel, findings, summary.binaries)
        }
        (Input::Sdist, _) => (ArtifactKind::Sdist, sdist::check(&name, &bytes), Vec::new()),
        (Input::Binary, Some(tag)) => {
            let (findings, facts) = binary::check(&bytes, &tag.expectation());
            (ArtifactKind::Binary, findings, facts.into_iter().collect())
        }
        (Input::Binary, None) => return Err(CheckError::NeedTag(path.to_path_buf())),
    };
    for f in &mut findings {
        f.file = path.to_path_buf();
    }
    let artifact = Artifact {
        file: path.to_path_buf(),
        kind,
        size: bytes.len() as u64,
        binaries,
        findings: findings.len(),
    };
    Ok((findings, artifact))
}

/// The in-memory entry points the tests and fuzzers drive (no file system).
#[cfg(test)]
pub(crate) fn check_wheel_bytes(file_name: &str, bytes: &[u8]) -> Vec<Finding> {
    wheel_rules::check(file_name, bytes).0
}

#[cfg(test)]
pub(crate) fn check_sdist_bytes(file_name: &str, bytes: &[u8]) -> Vec<Finding> {
    sdist::check(file_name, bytes)
}

#[cfg(test)]
pub(crate) fn check_binary_bytes(bytes: &[u8], tag: &str) -> Vec<Finding> {
    let tag = PlatformTag::parse(tag).expect("test tags parse");
    binary::check(bytes, &tag.expectation()).0
}
