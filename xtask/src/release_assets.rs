//! The release assets in `dist/` as one value: wheels, sdist, `SHA256SUMS` and
//! `dist-manifest.json`, cross-checked against each other before anything leaves the machine.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};

use crate::artifact::{list_release_dir, Artifact, ArtifactKind, MANIFEST_FILE, SUMS_FILE};
use crate::checksums::{self, Manifest, ManifestEntry};
use crate::wheel::Version;

pub const SUMS: &str = SUMS_FILE;
pub const MANIFEST: &str = MANIFEST_FILE;

/// Every file in `dist/`, sorted by name, plus the parsed checksums and manifest.
#[derive(Debug)]
pub struct Inventory {
    pub dir: PathBuf,
    pub assets: Vec<Artifact>,
    /// The `SHA256SUMS` text as written (the release notes quote it verbatim).
    pub sums_text: String,
    /// File name → lowercase hex sha256, from `SHA256SUMS`.
    pub sums: BTreeMap<String, String>,
    pub manifest: Manifest,
}

/// Parses `sha256sum` output: `HEX  NAME` (text mode) or `HEX *NAME` (binary mode).
pub fn parse_sums(text: &str) -> Result<BTreeMap<String, String>> {
    let mut sums = BTreeMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (hex, rest) = line
            .split_once(' ')
            .with_context(|| format!("{SUMS} line {}: `{line}` is not `HEX  NAME`", n + 1))?;
        let name = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('*'));
        let name =
            name.with_context(|| format!("{SUMS} line {}: `{line}` is not `HEX  NAME`", n + 1))?;
        ensure!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{SUMS} line {}: `{hex}` is not a sha256",
            n + 1
        );
        if sums
            .insert(name.to_string(), hex.to_ascii_lowercase())
            .is_some()
        {
            bail!("{SUMS} lists {name} twice");
        }
    }
    Ok(sums)
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(checksums::sha256_hex(&bytes))
}

impl Inventory {
    /// Lists `dir` and proves the pieces agree: one version, `SHA256SUMS` covering exactly the
    /// wheels and sdist with matching hashes, and the manifest naming the same files.
    pub fn load(dir: &Path, version: &Version) -> Result<Inventory> {
        let assets = list_release_dir(dir)?;
        let sums_text = fs::read_to_string(dir.join(SUMS))
            .with_context(|| format!("reading {}", dir.join(SUMS).display()))?;
        let sums = parse_sums(&sums_text)?;
        let manifest = checksums::read_manifest(dir)?
            .with_context(|| format!("{} has no {MANIFEST}", dir.display()))?;
        let inventory = Inventory {
            dir: dir.to_path_buf(),
            assets,
            sums_text,
            sums,
            manifest,
        };
        inventory.verify(version)?;
        Ok(inventory)
    }

    pub fn distributions(&self) -> impl Iterator<Item = &Artifact> {
        self.assets.iter().filter(|a| a.kind.is_distribution())
    }

    fn verify(&self, version: &Version) -> Result<()> {
        let dists: Vec<&Artifact> = self.distributions().collect();
        ensure!(
            dists
                .iter()
                .any(|a| matches!(a.kind, ArtifactKind::Wheel(_))),
            "no wheels in {}",
            self.dir.display()
        );
        let sdists = dists
            .iter()
            .filter(|a| matches!(a.kind, ArtifactKind::Sdist(_)))
            .count();
        // None is a partial release: the gate names it (and `--allow-partial` lets it through).
        ensure!(
            sdists <= 1,
            "expected one sdist in {}, found {sdists}",
            self.dir.display()
        );
        for asset in &dists {
            ensure!(
                asset.kind.version() == Some(version),
                "{} is not version {version}",
                asset.kind
            );
        }
        let listed: Vec<String> = self.sums.keys().cloned().collect();
        let present: Vec<String> = dists.iter().map(|a| a.name()).collect();
        ensure!(
            listed == present,
            "{SUMS} lists {listed:?} but dist/ holds {present:?}"
        );
        for asset in &dists {
            let actual = sha256_file(&asset.path)?;
            let expected = &self.sums[&asset.name()];
            ensure!(
                &actual == expected,
                "{} has sha256 {actual}, but {SUMS} says {expected}",
                asset.kind
            );
        }
        ensure!(
            self.manifest.version == *version,
            "{MANIFEST} says version {}, the workspace says {version}",
            self.manifest.version
        );
        let mut in_manifest: Vec<String> = self
            .manifest
            .artifacts
            .iter()
            .map(ManifestEntry::file)
            .collect();
        in_manifest.sort_unstable();
        ensure!(
            in_manifest == present,
            "{MANIFEST} lists {in_manifest:?} but dist/ holds {present:?}"
        );
        Ok(())
    }
}

/// For `cargo xtask dist --assemble PARTS`: the matrix jobs' outputs — one folder per target
/// (as `download-artifact` lays them out), each with wheels, SHA256SUMS and dist-manifest.json —
/// verified against their own checksums and copied into `out`. Returns the wheel entries for
/// the merged manifest; the sdist and the final SHA256SUMS are the assembling run's to write.
pub fn collect_parts(parts: &Path, out: &Path, version: &Version) -> Result<Vec<ManifestEntry>> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(parts)
        .with_context(|| format!("listing {}", parts.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(MANIFEST).is_file())
        .collect();
    if parts.join(MANIFEST).is_file() {
        dirs.push(parts.to_path_buf());
    }
    dirs.sort();
    ensure!(
        !dirs.is_empty(),
        "no {MANIFEST} in {} or its sub-folders",
        parts.display()
    );
    let mut wheels: Vec<ManifestEntry> = Vec::new();
    for dir in dirs {
        let manifest = checksums::read_manifest(&dir)?
            .with_context(|| format!("{} has no {MANIFEST}", dir.display()))?;
        ensure!(
            manifest.version == *version,
            "{} holds version {}, the workspace is {version}",
            dir.display(),
            manifest.version
        );
        let sums_path = dir.join(SUMS);
        let sums = parse_sums(
            &fs::read_to_string(&sums_path)
                .with_context(|| format!("reading {}", sums_path.display()))?,
        )?;
        for artifact in manifest
            .artifacts
            .into_iter()
            .filter(|a| a.kind.wheel().is_some())
        {
            let file = artifact.file();
            let path = dir.join(&file);
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let sha = checksums::sha256_hex(&bytes);
            ensure!(
                sha == artifact.sha256 && sums.get(&file) == Some(&sha),
                "{} has sha256 {sha}, which its {MANIFEST} or {SUMS} does not record",
                path.display()
            );
            let clash = wheels.iter().find(|w| {
                w.kind == artifact.kind || (w.target.is_some() && w.target == artifact.target)
            });
            if let Some(other) = clash {
                bail!(
                    "two parts carry {file} / {:?}: {} and {}",
                    artifact.target,
                    other.kind,
                    path.display()
                );
            }
            crate::atomic::write(&out.join(&file), &bytes)?;
            wheels.push(artifact);
        }
    }
    wheels.sort_by_key(ManifestEntry::file);
    Ok(wheels)
}

/// A fake but self-consistent `dist/` for unit tests of everything that reads one.
#[cfg(test)]
pub mod fixture {
    use std::path::{Path, PathBuf};

    use crate::artifact::ArtifactKind;
    use crate::checksums::{self, Manifest, ManifestEntry};
    use crate::wheel::Version;

    pub const WHEELS: [(&str, &str); 4] = [
        (
            "manylinux_2_17_x86_64.manylinux2014_x86_64",
            "x86_64-unknown-linux-gnu",
        ),
        ("macosx_10_12_x86_64", "x86_64-apple-darwin"),
        ("macosx_11_0_arm64", "aarch64-apple-darwin"),
        ("win_amd64", "x86_64-pc-windows-msvc"),
    ];

    /// A scratch folder unique to one test.
    pub fn scratch(name: &str) -> PathBuf {
        crate::util::test_scratch("release", name)
    }

    pub fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    /// Writes `file` into `dir` with made-up bytes and returns its manifest entry.
    fn fake_file(dir: &Path, file: &str, target: Option<&str>, builder: &str) -> ManifestEntry {
        let bytes = format!("contents of {file}").into_bytes();
        std::fs::write(dir.join(file), &bytes).unwrap();
        ManifestEntry {
            kind: ArtifactKind::parse(file).unwrap(),
            target: target.map(String::from),
            build_target: None,
            size: bytes.len() as u64,
            sha256: checksums::sha256_hex(&bytes),
            binary_sha256: None,
            builder: builder.into(),
        }
    }

    fn write_index(dir: &Path, version: &str, commit: Option<&str>, artifacts: Vec<ManifestEntry>) {
        std::fs::write(dir.join(super::SUMS), checksums::sha256sums(&artifacts)).unwrap();
        let manifest = Manifest {
            version: v(version),
            commit: commit.map(String::from),
            artifacts,
            build: None,
        };
        let json = checksums::manifest_json(&manifest).unwrap();
        std::fs::write(dir.join(super::MANIFEST), json).unwrap();
    }

    /// One matrix job's output: its wheel, SHA256SUMS and manifest.
    pub fn fake_part(dir: &Path, version: &str, tag: &str, target: &str) {
        let file = format!("mcp_sidecar-{version}-py3-none-{tag}.whl");
        let entry = fake_file(dir, &file, Some(target), "native");
        write_index(dir, version, None, vec![entry]);
    }

    /// `fake_dist` in a fresh scratch folder, loaded.
    pub fn fake_inventory(name: &str, version: &str) -> super::Inventory {
        let dir = scratch(name);
        fake_dist(&dir, version);
        super::Inventory::load(&dir, &v(version)).unwrap()
    }

    /// Removes `file` from a fake dist and from its SHA256SUMS and manifest (a partial release).
    pub fn drop_file(dir: &Path, file: &str) {
        std::fs::remove_file(dir.join(file)).unwrap();
        let manifest = checksums::read_manifest(dir).unwrap().unwrap();
        let kept = manifest.artifacts.into_iter().filter(|a| a.file() != file);
        write_index(dir, &manifest.version.to_string(), None, kept.collect());
    }

    /// Four wheels, an sdist, SHA256SUMS and a manifest, all agreeing on `version`.
    pub fn fake_dist(dir: &Path, version: &str) {
        let mut artifacts: Vec<ManifestEntry> = WHEELS
            .iter()
            .map(|(tag, target)| {
                let file = format!("mcp_sidecar-{version}-py3-none-{tag}.whl");
                fake_file(dir, &file, Some(target), "zig")
            })
            .collect();
        let sdist = format!("mcp_sidecar-{version}.tar.gz");
        artifacts.push(fake_file(dir, &sdist, None, "maturin-sdist"));
        artifacts.sort_by_key(ManifestEntry::file);
        write_index(dir, version, Some("0123abcd"), artifacts);
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{fake_dist, scratch, v};
    use super::*;

    #[test]
    fn a_consistent_dist_loads_sorted_and_complete() {
        let dir = scratch("load");
        fake_dist(&dir, "1.2.3");
        std::fs::write(dir.join(".tmp-1-partial.whl"), b"in flight").unwrap();
        let inv = Inventory::load(&dir, &v("1.2.3")).unwrap();
        let names: Vec<String> = inv.assets.iter().map(Artifact::name).collect();
        assert_eq!(names.len(), 7, "{names:?}");
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        assert!(names.iter().any(|n| n == SUMS) && names.iter().any(|n| n == MANIFEST));
        assert_eq!(inv.distributions().count(), 5);
        assert_eq!(inv.sums.len(), 5);
    }

    /// Why `Inventory::load` refuses a fake dist of 1.2.3 after `spoil`, loaded as `version`.
    fn refusal(name: &str, version: &str, spoil: impl FnOnce(&Path)) -> String {
        let dir = scratch(name);
        fake_dist(&dir, "1.2.3");
        spoil(&dir);
        Inventory::load(&dir, &v(version)).unwrap_err().to_string()
    }

    #[test]
    fn strays_and_inconsistencies_are_refused() {
        let err = refusal("stray", "1.2.3", |d| {
            std::fs::write(d.join("notes.txt"), b"x").unwrap()
        });
        assert!(err.contains("unexpected file notes.txt"), "{err}");
        let win = "mcp_sidecar-1.2.3-py3-none-win_amd64.whl";
        let err = refusal("tampered", "1.2.3", |d| {
            std::fs::write(d.join(win), b"changed").unwrap()
        });
        assert!(err.contains("win_amd64.whl has sha256"), "{err}");
        let err = refusal("version", "1.2.4", |_| {});
        assert!(err.contains("is not version 1.2.4"), "{err}");
        let arm = "mcp_sidecar-1.2.3-py3-none-win_arm64.whl";
        let err = refusal("unlisted", "1.2.3", |d| {
            std::fs::write(d.join(arm), b"new").unwrap()
        });
        assert!(err.contains("SHA256SUMS lists"), "{err}");
    }

    #[test]
    fn sums_parse_both_modes_and_reject_garbage() {
        let hex = "ab".repeat(32);
        let sums = parse_sums(&format!("{hex}  a.whl\n{hex} *b.tar.gz\n\n")).unwrap();
        assert_eq!(sums.len(), 2);
        assert_eq!(sums["b.tar.gz"], hex);
        assert!(parse_sums("nothex  a.whl").is_err());
        assert!(parse_sums(&format!("{hex}  a.whl\n{hex}  a.whl")).is_err());
        assert!(parse_sums(&format!("{hex}a.whl")).is_err());
    }

    #[test]
    fn parts_from_the_matrix_are_verified_and_collected() {
        let parts = scratch("parts");
        for (tag, target) in fixture::WHEELS {
            let part = parts.join(format!("dist-{target}"));
            std::fs::create_dir_all(&part).unwrap();
            fixture::fake_part(&part, "1.0.0", tag, target);
        }
        let out = scratch("parts-out");
        let wheels = collect_parts(&parts, &out, &v("1.0.0")).unwrap();
        assert_eq!(wheels.len(), 4);
        assert_eq!(file_names(&out).len(), 4);
        assert!(collect_parts(&parts, &scratch("parts-v"), &v("2.0.0")).is_err());
        let first = parts.join(format!("dist-{}", fixture::WHEELS[0].1));
        let wheel = file_names(&first)
            .into_iter()
            .find(|n| n.ends_with(".whl"))
            .unwrap();
        std::fs::write(first.join(&wheel), b"tampered").unwrap();
        let err = collect_parts(&parts, &scratch("parts-bad"), &v("1.0.0"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not record"), "{err}");
    }

    fn file_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
