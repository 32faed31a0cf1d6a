//! The files of a release, one vocabulary for all commands: [`ArtifactKind`] says what a file
//! in `dist/` is (with its parsed name), [`Artifact`] is such a file on disk, and
//! [`list_release_dir`] is the one lister of a release directory.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};

use crate::wheel::{SdistFilename, Version, WheelFilename};

/// `sha256sum -c` reads it.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// Machines read it.
pub const MANIFEST_FILE: &str = "dist-manifest.json";

/// What one file of a release is; prints as its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactKind {
    Wheel(WheelFilename),
    Sdist(SdistFilename),
    Checksums,
    Manifest,
}

impl ArtifactKind {
    /// Classifies a file name; `None` for names that have no place in a release.
    pub fn parse(name: &str) -> Option<ArtifactKind> {
        match name {
            SUMS_FILE => Some(ArtifactKind::Checksums),
            MANIFEST_FILE => Some(ArtifactKind::Manifest),
            _ if name.ends_with(".whl") => WheelFilename::parse(name).ok().map(ArtifactKind::Wheel),
            _ if name.ends_with(".tar.gz") => {
                SdistFilename::parse(name).ok().map(ArtifactKind::Sdist)
            }
            _ => None,
        }
    }

    /// `wheel`, `sdist`, `checksums` or `manifest` (the manifest's `kind` field).
    pub fn label(&self) -> &'static str {
        match self {
            ArtifactKind::Wheel(_) => "wheel",
            ArtifactKind::Sdist(_) => "sdist",
            ArtifactKind::Checksums => "checksums",
            ArtifactKind::Manifest => "manifest",
        }
    }

    /// Wheels and the sdist: what twine uploads and SHA256SUMS covers.
    pub fn is_distribution(&self) -> bool {
        self.version().is_some()
    }

    pub fn version(&self) -> Option<&Version> {
        match self {
            ArtifactKind::Wheel(w) => Some(&w.version),
            ArtifactKind::Sdist(s) => Some(&s.version),
            ArtifactKind::Checksums | ArtifactKind::Manifest => None,
        }
    }

    pub fn wheel(&self) -> Option<&WheelFilename> {
        match self {
            ArtifactKind::Wheel(w) => Some(w),
            _ => None,
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArtifactKind::Wheel(w) => write!(f, "{w}"),
            ArtifactKind::Sdist(s) => write!(f, "{s}"),
            ArtifactKind::Checksums => f.write_str(SUMS_FILE),
            ArtifactKind::Manifest => f.write_str(MANIFEST_FILE),
        }
    }
}

/// One file of a release directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: PathBuf,
    pub kind: ArtifactKind,
}

impl Artifact {
    /// The file name, as the directory holds it.
    pub fn name(&self) -> String {
        self.kind.to_string()
    }
}

/// Every release file in `dir`, sorted by name. Anything else visible is an error (temp files
/// of an interrupted run start with a dot and are skipped).
pub fn list_release_dir(dir: &Path) -> Result<Vec<Artifact>> {
    let entries = fs::read_dir(dir)
        .with_context(|| format!("listing {} (run `cargo xtask dist`)", dir.display()))?;
    let mut artifacts = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden files are in flight; PEP 740 attestations sit next to their file for twine
        // (`publish --attestations` checks each one).
        if name.starts_with('.') || name.ends_with(crate::publish::attestation::SUFFIX) {
            continue;
        }
        let path = entry.path();
        ensure!(
            path.is_file(),
            "{} is not a file: dist/ holds only release files",
            path.display()
        );
        let kind = ArtifactKind::parse(&name).with_context(|| {
            format!(
                "unexpected file {name} in {}: a release is exactly the wheels, the sdist, {SUMS_FILE} and {MANIFEST_FILE}",
                dir.display()
            )
        })?;
        // A name that parses but prints differently (`MCP-Sidecar-1.0.0-beta.1.tar.gz`) is not ours.
        ensure!(
            kind.to_string() == name,
            "{name} in {} is not spelled canonically (expected {kind})",
            dir.display()
        );
        artifacts.push(Artifact { path, kind });
    }
    artifacts.sort_by_key(Artifact::name);
    Ok(artifacts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            ArtifactKind::parse(SUMS_FILE),
            Some(ArtifactKind::Checksums)
        );
        assert!(matches!(
            ArtifactKind::parse("mcp_sidecar-1.0.tar.gz"),
            Some(ArtifactKind::Sdist(_))
        ));
        let wheel = ArtifactKind::parse("mcp_sidecar-1.0-py3-none-win_amd64.whl").unwrap();
        assert_eq!(wheel.label(), "wheel");
        assert!(wheel.is_distribution());
        assert!(!ArtifactKind::Manifest.is_distribution());
        assert_eq!(ArtifactKind::parse("broken.whl"), None);
        assert_eq!(ArtifactKind::parse("build.log"), None);
    }

    #[test]
    fn the_lister_refuses_strangers_and_skips_temp_files() {
        let dir = std::env::temp_dir().join(format!("xtask-artifact-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for name in ["mcp_sidecar-1.0.tar.gz", SUMS_FILE, ".tmp-1-x.whl"] {
            fs::write(dir.join(name), b"x").unwrap();
        }
        let names: Vec<String> = list_release_dir(&dir)
            .unwrap()
            .iter()
            .map(Artifact::name)
            .collect();
        assert_eq!(names, [SUMS_FILE, "mcp_sidecar-1.0.tar.gz"]);
        fs::write(dir.join("Mcp_Sidecar-1.0.0beta1.tar.gz"), b"x").unwrap();
        let err = list_release_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("mcp_sidecar-1.0.0b1.tar.gz"), "{err}");
        fs::remove_file(dir.join("Mcp_Sidecar-1.0.0beta1.tar.gz")).unwrap();
        fs::write(dir.join("notes.txt"), b"x").unwrap();
        let err = list_release_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("unexpected file notes.txt"), "{err}");
    }
}
