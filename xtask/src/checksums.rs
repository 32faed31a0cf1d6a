//! `SHA256SUMS` (what `sha256sum -c` reads) and `dist-manifest.json` (what machines read):
//! version, commit, one entry per artifact and the `build` record of what determined their
//! bytes, merged with what an earlier run left in `dist/`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifact::{ArtifactKind, MANIFEST_FILE};
use crate::target::BuilderKind;
use crate::wheel::Version;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: Version,
    pub commit: Option<String>,
    pub artifacts: Vec<ManifestEntry>,
    /// None in manifests written before the record existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildRecord>,
}

/// What determines the bytes of the files, so another machine can rebuild them the same way:
/// the tool versions (as each tool prints them), the timestamp, and the target set of every
/// cargo invocation (cargo unifies features across the targets of one invocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// `rustc -V`.
    pub rustc: String,
    /// `zig version`, when a zig invocation ran.
    pub zig: Option<String>,
    /// `cargo-zigbuild --version`, when a zig invocation ran.
    pub cargo_zigbuild: Option<String>,
    /// `cargo-auditable --version`, when the dependency list was embedded.
    pub cargo_auditable: Option<String>,
    /// `maturin --version`, when the sdist was built.
    pub maturin: Option<String>,
    pub source_date_epoch: i64,
    pub invocations: Vec<Invocation>,
}

/// One cargo invocation: its builder and the release triples it built together (the
/// `--target` arguments of `cargo xtask dist` that reproduce it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invocation {
    pub builder: BuilderKind,
    pub targets: Vec<String>,
}

impl BuildRecord {
    /// The record of two runs taken together (matrix parts, or a `--target` run over an
    /// earlier one): every tool both name must agree, and so must the timestamp.
    pub fn combine(self, other: BuildRecord) -> Result<BuildRecord> {
        fn one(what: &str, a: Option<String>, b: Option<String>) -> Result<Option<String>> {
            match (a, b) {
                (Some(a), Some(b)) if a != b => {
                    anyhow::bail!("the runs used different {what}: {a} and {b}")
                }
                (a, b) => Ok(a.or(b)),
            }
        }
        anyhow::ensure!(
            self.rustc == other.rustc,
            "the runs used different compilers: {} and {}",
            self.rustc,
            other.rustc
        );
        anyhow::ensure!(
            self.source_date_epoch == other.source_date_epoch,
            "the runs used different SOURCE_DATE_EPOCH: {} and {}",
            self.source_date_epoch,
            other.source_date_epoch
        );
        let mut invocations = self.invocations;
        invocations.extend(other.invocations);
        Ok(BuildRecord {
            rustc: self.rustc,
            zig: one("zig", self.zig, other.zig)?,
            cargo_zigbuild: one("cargo-zigbuild", self.cargo_zigbuild, other.cargo_zigbuild)?,
            cargo_auditable: one(
                "cargo-auditable",
                self.cargo_auditable,
                other.cargo_auditable,
            )?,
            maturin: one("maturin", self.maturin, other.maturin)?,
            source_date_epoch: self.source_date_epoch,
            invocations,
        })
    }

    /// Only the invocations' targets that `keep` accepts; invocations left empty are dropped.
    fn retain_targets(mut self, keep: impl Fn(&str) -> bool) -> BuildRecord {
        for i in &mut self.invocations {
            i.targets.retain(|t| keep(t));
        }
        self.invocations.retain(|i| !i.targets.is_empty());
        self
    }
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
/// rebuilt (another `--target` run) and whose file in `dir` still has the recorded hash. The
/// build record keeps the earlier invocations of the kept wheels when their tools and timestamp
/// agree with this run's; otherwise it describes this run only.
pub fn merge(
    previous: Option<Manifest>,
    version: &Version,
    commit: Option<String>,
    fresh: Vec<ManifestEntry>,
    build: Option<BuildRecord>,
    dir: &Path,
) -> Manifest {
    let previous = previous.filter(|m| m.version == *version);
    let old_build = previous.as_ref().and_then(|m| m.build.clone());
    let mut artifacts = fresh;
    let fresh_count = artifacts.len();
    for old in previous.map(|m| m.artifacts).unwrap_or_default() {
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
    let kept: Vec<String> = artifacts[fresh_count..]
        .iter()
        .filter_map(|a| a.target.clone())
        .collect();
    let build = match (build, old_build) {
        (Some(new), Some(old)) => {
            let old = old.retain_targets(|t| kept.iter().any(|k| k == t));
            Some(new.clone().combine(old).unwrap_or(new))
        }
        (new, _) => new,
    };
    artifacts.sort_by_key(ManifestEntry::file);
    Manifest {
        version: version.clone(),
        commit,
        artifacts,
        build,
    }
}

/// The build records of the matrix parts `dist --assemble` reads (`PARTS/*/` and `PARTS/`),
/// combined; None when a part has none.
pub fn parts_build_record(parts: &Path) -> Result<Option<BuildRecord>> {
    let subdirs = fs::read_dir(parts).with_context(|| format!("listing {}", parts.display()))?;
    let mut dirs: Vec<_> = subdirs.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.push(parts.to_path_buf());
    dirs.sort();
    let mut combined: Option<BuildRecord> = None;
    for dir in dirs {
        let Some(manifest) = read_manifest(&dir)? else {
            continue;
        };
        let Some(build) = manifest.build else {
            return Ok(None);
        };
        combined = Some(match combined {
            Some(c) => c
                .combine(build)
                .with_context(|| format!("combining the build record of {}", dir.display()))?,
            None => build,
        });
    }
    Ok(combined)
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
            build: None,
        };
        let fresh = vec![entry(&wheel("linux"), Some("linux"), b"new")];
        let merged = merge(
            Some(previous.clone()),
            &v("1.0"),
            None,
            fresh.clone(),
            None,
            &dir,
        );
        let files: Vec<String> = merged.artifacts.iter().map(ManifestEntry::file).collect();
        assert_eq!(files, [wheel("linux"), wheel("mac")]);
        let other_version = merge(Some(previous), &v("2.0"), None, fresh, None, &dir);
        assert_eq!(other_version.artifacts.len(), 1);
    }

    #[test]
    fn manifest_round_trips_and_refuses_wrong_kinds() {
        let m = Manifest {
            version: v("1"),
            commit: Some("abc".into()),
            artifacts: vec![entry("a-1-py3-none-win_amd64.whl", Some("t"), b"x")],
            build: Some(record(&[(BuilderKind::Zig, &["t"])])),
        };
        let json = manifest_json(&m).unwrap();
        assert!(json.contains("\"tag\": \"win_amd64\""), "{json}");
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let wrong = json.replace("\"kind\": \"wheel\"", "\"kind\": \"sdist\"");
        assert!(serde_json::from_str::<Manifest>(&wrong).is_err());
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["build"]["invocations"][0]["builder"], "zig");
        assert_eq!(value["build"]["source_date_epoch"], 1_700_000_000);
        let old = json.split("\"build\"").next().unwrap().trim_end();
        let old = format!("{}\n}}", old.trim_end_matches(','));
        assert_eq!(serde_json::from_str::<Manifest>(&old).unwrap().build, None);
    }

    #[test]
    fn a_target_run_keeps_the_invocations_of_the_wheels_it_kept() {
        let dir = std::env::temp_dir().join(format!("xtask-merge-build-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(wheel("mac")), b"mac").unwrap();
        let previous = Manifest {
            version: v("1.0"),
            commit: None,
            artifacts: vec![
                entry(&wheel("mac"), Some("mac"), b"mac"),
                entry(&wheel("linux"), Some("linux"), b"old"),
            ],
            build: Some(record(&[(BuilderKind::Zig, &["linux", "mac"])])),
        };
        let fresh = vec![entry(&wheel("linux"), Some("linux"), b"new")];
        let new = record(&[(BuilderKind::Zig, &["linux"])]);
        let merged = merge(
            Some(previous.clone()),
            &v("1.0"),
            None,
            fresh.clone(),
            Some(new.clone()),
            &dir,
        );
        let build = merged.build.unwrap();
        assert_eq!(build.invocations.len(), 2);
        let sets: Vec<&[String]> = build.invocations.iter().map(|i| &i.targets[..]).collect();
        assert_eq!(sets, [["linux".to_string()], ["mac".to_string()]]);
        // Another compiler: the earlier invocations no longer describe how to rebuild.
        let newer = BuildRecord {
            rustc: "rustc 9.9.9".into(),
            ..new
        };
        let merged = merge(Some(previous), &v("1.0"), None, fresh, Some(newer), &dir);
        assert_eq!(merged.build.unwrap().invocations.len(), 1);
    }

    #[test]
    fn combining_refuses_runs_that_disagree() {
        let a = record(&[(BuilderKind::Zig, &["linux"])]);
        let native = BuildRecord {
            zig: None,
            cargo_zigbuild: None,
            ..record(&[(BuilderKind::Native, &["win"])])
        };
        let both = a.clone().combine(native).unwrap();
        assert_eq!(both.zig.as_deref(), Some("0.15.2"));
        assert_eq!(both.invocations.len(), 2);
        let later = BuildRecord {
            source_date_epoch: 1,
            ..a.clone()
        };
        assert!(a.clone().combine(later).is_err());
        let other_zig = BuildRecord {
            zig: Some("0.14.0".into()),
            ..a.clone()
        };
        let err = a.combine(other_zig).unwrap_err().to_string();
        assert!(err.contains("zig"), "{err}");
    }

    fn record(invocations: &[(BuilderKind, &[&str])]) -> BuildRecord {
        BuildRecord {
            rustc: "rustc 1.95.0 (000000000 2026-01-01)".into(),
            zig: Some("0.15.2".into()),
            cargo_zigbuild: Some("cargo-zigbuild 0.24.0".into()),
            cargo_auditable: None,
            maturin: None,
            source_date_epoch: 1_700_000_000,
            invocations: invocations
                .iter()
                .map(|(builder, targets)| Invocation {
                    builder: *builder,
                    targets: targets.iter().map(|t| t.to_string()).collect(),
                })
                .collect(),
        }
    }

    fn wheel(name: &str) -> String {
        format!("{name}-1.0-py3-none-any.whl")
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }
}
