//! `SHA256SUMS` (what `sha256sum -c` reads) and `dist-manifest.json` (what machines read):
//! version, commit and one entry per artifact, merged with what an earlier run left in `dist/`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const SUMS_FILE: &str = "SHA256SUMS";
pub const MANIFEST_FILE: &str = "dist-manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    pub commit: Option<String>,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub file: String,
    /// `wheel` or `sdist`.
    pub kind: String,
    /// The release triple (None for the sdist).
    pub target: Option<String>,
    /// The triple actually compiled, when a fallback was used.
    pub build_target: Option<String>,
    /// The wheel's platform tag part (`manylinux_2_17_x86_64.manylinux2014_x86_64`).
    pub tag: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub binary_sha256: Option<String>,
    /// `zig`, `native`, `cross`, or `maturin-sdist`.
    pub builder: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<hex>  <file>` lines sorted by file name: `sha256sum -c SHA256SUMS` checks them.
pub fn sha256sums(artifacts: &[Artifact]) -> String {
    let mut lines: Vec<String> = artifacts
        .iter()
        .map(|a| format!("{}  {}\n", a.sha256, a.file))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}

/// Reads `dist-manifest.json` from `dir`, if there is a readable one.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let manifest =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Some(manifest))
}

/// The new manifest: this run's artifacts, plus earlier ones of the same version that were not
/// rebuilt (another `--target` run) and whose file in `dir` still has the recorded hash.
pub fn merge(
    previous: Option<Manifest>,
    version: &str,
    commit: Option<String>,
    fresh: Vec<Artifact>,
    dir: &Path,
) -> Manifest {
    let mut artifacts = fresh;
    for old in previous
        .filter(|m| m.version == version)
        .map(|m| m.artifacts)
        .unwrap_or_default()
    {
        let superseded = artifacts
            .iter()
            .any(|a| a.file == old.file || (a.target.is_some() && a.target == old.target));
        if superseded {
            continue;
        }
        let intact = fs::read(dir.join(&old.file))
            .map(|bytes| sha256_hex(&bytes) == old.sha256)
            .unwrap_or(false);
        if intact {
            artifacts.push(old);
        }
    }
    artifacts.sort_by(|a, b| a.file.cmp(&b.file));
    Manifest {
        version: version.to_string(),
        commit,
        artifacts,
    }
}

pub fn manifest_json(manifest: &Manifest) -> Result<String> {
    let mut text = serde_json::to_string_pretty(manifest).context("serializing the manifest")?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(file: &str, target: Option<&str>, bytes: &[u8]) -> Artifact {
        Artifact {
            file: file.into(),
            kind: "wheel".into(),
            target: target.map(String::from),
            build_target: None,
            tag: None,
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            binary_sha256: None,
            builder: "zig".into(),
        }
    }

    #[test]
    fn sums_are_sorted_and_sha256sum_shaped() {
        let text = sha256sums(&[
            artifact("b.whl", None, b"b"),
            artifact("a.tar.gz", None, b"a"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with("  a.tar.gz"));
        assert_eq!(lines[0].len(), 64 + 2 + "a.tar.gz".len());
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn merge_keeps_intact_entries_of_other_targets_only() {
        let dir = std::env::temp_dir().join(format!("xtask-merge-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("mac.whl"), b"mac").unwrap();
        fs::write(dir.join("tampered.whl"), b"changed").unwrap();
        let previous = Manifest {
            version: "1.0".into(),
            commit: None,
            artifacts: vec![
                artifact("mac.whl", Some("mac"), b"mac"),
                artifact("tampered.whl", Some("win"), b"original"),
                artifact("linux-old.whl", Some("linux"), b"old"),
                artifact("gone.whl", Some("arm"), b"gone"),
            ],
        };
        let fresh = vec![artifact("linux.whl", Some("linux"), b"new")];
        let merged = merge(Some(previous.clone()), "1.0", None, fresh.clone(), &dir);
        let files: Vec<&str> = merged.artifacts.iter().map(|a| a.file.as_str()).collect();
        assert_eq!(files, ["linux.whl", "mac.whl"]);
        let other_version = merge(Some(previous), "2.0", None, fresh, &dir);
        assert_eq!(other_version.artifacts.len(), 1);
    }

    #[test]
    fn manifest_round_trips() {
        let m = Manifest {
            version: "1".into(),
            commit: Some("abc".into()),
            artifacts: vec![artifact("a.whl", Some("t"), b"x")],
        };
        let back: Manifest = serde_json::from_str(&manifest_json(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
