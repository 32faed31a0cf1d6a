//! `SHA256SUMS` (what `sha256sum -c` reads) and `dist-manifest.json` (what machines read):
//! version, commit and one entry per artifact, merged with what an earlier run left in `dist/`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifact::{ArtifactKind, MANIFEST_FILE};
use crate::wheel::Version;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: Version,
    pub commit: Option<String>,
    pub artifacts: Vec<ManifestEntry>,
}

/// One distribution of the manifest: what it is, its bytes' identity, and how it was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "EntryJson", try_from = "EntryJson")]
pub struct ManifestEntry {
    pub kind: ArtifactKind,
    /// The release triple (None for the sdist).
    pub target: Option<String>,
    /// The triple actually compiled, when a fallback was used.
    pub build_target: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub binary_sha256: Option<String>,
    /// `zig`, `native`, `cross`, or `maturin-sdist`.
    pub builder: String,
}

impl ManifestEntry {
    pub fn file(&self) -> String {
        self.kind.to_string()
    }

    /// The wheel's platform part (`manylinux_2_17_x86_64.manylinux2014_x86_64`).
    pub fn tag(&self) -> Option<String> {
        self.kind.wheel().map(|w| w.tags.platform.to_string())
    }
}

/// The JSON shape of an entry: `file`, `kind` and `tag` are spelled out for readers.
#[derive(Serialize, Deserialize)]
struct EntryJson {
    file: String,
    kind: String,
    target: Option<String>,
    build_target: Option<String>,
    tag: Option<String>,
    size: u64,
    sha256: String,
    binary_sha256: Option<String>,
    builder: String,
}

impl From<ManifestEntry> for EntryJson {
    fn from(e: ManifestEntry) -> EntryJson {
        EntryJson {
            file: e.file(),
            kind: e.kind.label().to_string(),
            tag: e.tag(),
            target: e.target,
            build_target: e.build_target,
            size: e.size,
            sha256: e.sha256,
            binary_sha256: e.binary_sha256,
            builder: e.builder,
        }
    }
}

impl TryFrom<EntryJson> for ManifestEntry {
    type Error = String;

    fn try_from(j: EntryJson) -> Result<ManifestEntry, String> {
        let kind = ArtifactKind::parse(&j.file)
            .filter(ArtifactKind::is_distribution)
            .ok_or_else(|| format!("`{}` is not a wheel or sdist file name", j.file))?;
        if kind.label() != j.kind {
            return Err(format!(
                "`{}` is a {}, not a {}",
                j.file,
                kind.label(),
                j.kind
            ));
        }
        Ok(ManifestEntry {
            kind,
            target: j.target,
            build_target: j.build_target,
            size: j.size,
            sha256: j.sha256,
            binary_sha256: j.binary_sha256,
            builder: j.builder,
        })
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<hex>  <file>` lines sorted by file name: `sha256sum -c SHA256SUMS` checks them.
pub fn sha256sums(artifacts: &[ManifestEntry]) -> String {
    let mut lines: Vec<String> = artifacts
        .iter()
        .map(|a| format!("{}  {}\n", a.sha256, a.kind))
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
    version: &Version,
    commit: Option<String>,
    fresh: Vec<ManifestEntry>,
    dir: &Path,
) -> Manifest {
    let mut artifacts = fresh;
    for old in previous
        .filter(|m| m.version == *version)
        .map(|m| m.artifacts)
        .unwrap_or_default()
    {
        let superseded = artifacts
            .iter()
            .any(|a| a.kind == old.kind || (a.target.is_some() && a.target == old.target));
        if superseded {
            continue;
        }
        let intact = fs::read(dir.join(old.file()))
            .map(|bytes| sha256_hex(&bytes) == old.sha256)
            .unwrap_or(false);
        if intact {
            artifacts.push(old);
        }
    }
    artifacts.sort_by_key(ManifestEntry::file);
    Manifest {
        version: version.clone(),
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

    pub fn entry(file: &str, target: Option<&str>, bytes: &[u8]) -> ManifestEntry {
        ManifestEntry {
            kind: ArtifactKind::parse(file).unwrap(),
            target: target.map(String::from),
            build_target: None,
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            binary_sha256: None,
            builder: "zig".into(),
        }
    }

    #[test]
    fn sums_are_sorted_and_sha256sum_shaped() {
        let text = sha256sums(&[
            entry(&wheel("b"), None, b"b"),
            entry("a-1.tar.gz", None, b"a"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with("  a-1.tar.gz"));
        assert_eq!(lines[0].len(), 64 + 2 + "a-1.tar.gz".len());
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
        fs::write(dir.join(wheel("mac")), b"mac").unwrap();
        fs::write(dir.join(wheel("tampered")), b"changed").unwrap();
        let previous = Manifest {
            version: v("1.0"),
            commit: None,
            artifacts: vec![
                entry(&wheel("mac"), Some("mac"), b"mac"),
                entry(&wheel("tampered"), Some("win"), b"original"),
                entry(&wheel("linux_old"), Some("linux"), b"old"),
                entry(&wheel("gone"), Some("arm"), b"gone"),
            ],
        };
        let fresh = vec![entry(&wheel("linux"), Some("linux"), b"new")];
        let merged = merge(Some(previous.clone()), &v("1.0"), None, fresh.clone(), &dir);
        let files: Vec<String> = merged.artifacts.iter().map(ManifestEntry::file).collect();
        assert_eq!(files, [wheel("linux"), wheel("mac")]);
        let other_version = merge(Some(previous), &v("2.0"), None, fresh, &dir);
        assert_eq!(other_version.artifacts.len(), 1);
    }

    #[test]
    fn manifest_round_trips_and_refuses_wrong_kinds() {
        let m = Manifest {
            version: v("1"),
            commit: Some("abc".into()),
            artifacts: vec![entry("a-1-py3-none-win_amd64.whl", Some("t"), b"x")],
        };
        let json = manifest_json(&m).unwrap();
        assert!(json.contains("\"tag\": \"win_amd64\""), "{json}");
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let wrong = json.replace("\"kind\": \"wheel\"", "\"kind\": \"sdist\"");
        assert!(serde_json::from_str::<Manifest>(&wrong).is_err());
    }

    fn wheel(name: &str) -> String {
        format!("{name}-1.0-py3-none-any.whl")
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }
}
