//! `[workspace.metadata.dist]` in Cargo.toml, parsed at the edge: every key must be one this
//! table knows (a misspelling names the nearest valid key), and every value is checked before
//! anything is built, each error naming the file and the key.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::target::Triple;
use crate::wheel::{Arch, Os, Version2};

/// The validated table.
#[derive(Debug, Clone)]
pub struct DistMetadata {
    /// The Cargo binary target that becomes `_native/<binary>`.
    pub binary: String,
    /// The Cargo package that owns `binary`.
    pub package: String,
    /// The import name of the Python package (`mcp_sidecar`).
    pub python_package: String,
    /// Sub-folder of the Python package that holds the binary (`_native`): one path segment.
    pub native_dir: String,
    pub glibc_floor: Version2,
    /// Release triples, each known and listed once.
    pub targets: Vec<String>,
    /// Minimum macOS per architecture (`x86_64`, `aarch64`).
    pub macos_deployment_target: BTreeMap<String, Version2>,
    /// What to build when a target cannot be linked on this host (msvc off Windows).
    pub fallback: BTreeMap<String, String>,
    /// GitHub Actions runner per release target (`cargo xtask plan`).
    pub runners: BTreeMap<String, String>,
    /// Docker image per target for `--builder cross`.
    pub cross_images: BTreeMap<String, String>,
}

/// The table as written; every field a string so each check can name its key.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Raw {
    binary: String,
    package: String,
    python_package: String,
    native_dir: String,
    glibc_floor: String,
    targets: Vec<String>,
    #[serde(default)]
    macos_deployment_target: BTreeMap<String, String>,
    #[serde(default)]
    fallback: BTreeMap<String, String>,
    #[serde(default)]
    runners: BTreeMap<String, String>,
    #[serde(default)]
    cross_images: BTreeMap<String, String>,
}

const TABLE: &str = "[workspace.metadata.dist]";
const KEYS: [&str; 10] = [
    "binary",
    "package",
    "python-package",
    "native-dir",
    "glibc-floor",
    "targets",
    "macos-deployment-target",
    "fallback",
    "runners",
    "cross-images",
];
/// The oldest macOS each architecture can take (x86_64: Rust's floor; arm64: the first Apple Silicon macOS).
const MACOS_FLOORS: [(Arch, Version2); 2] = [
    (Arch::X86_64, Version2::new(10, 9)),
    (Arch::Aarch64, Version2::new(11, 0)),
];

impl DistMetadata {
    /// Parses and checks the table `cargo metadata` returned for `file` (the workspace Cargo.toml).
    pub fn parse(file: &Path, value: Option<&serde_json::Value>) -> Result<DistMetadata> {
        let file = file.display();
        let value = value.with_context(|| format!("{file}: there is no {TABLE} table"))?;
        let map = value
            .as_object()
            .with_context(|| format!("{file}: {TABLE} is not a table"))?;
        known_keys(&file, TABLE, map.keys(), &KEYS)?;
        let raw: Raw = serde_path_to_error::deserialize(value).map_err(|e| {
            anyhow::anyhow!(
                "{file}: {TABLE} {}: {}",
                e.path(),
                e.inner().to_string().replace("kebab-case", "")
            )
        })?;
        let at = |key: &str| format!("{file}: {TABLE} {key}");
        for (key, v) in [("binary", &raw.binary), ("package", &raw.package)] {
            if v.trim().is_empty() {
                bail!("{} is empty", at(key));
            }
        }
        if !is_identifier(&raw.python_package) {
            bail!(
                "{} = {:?} is not a Python import name (letters, digits, `_`; not starting with a digit)",
                at("python-package"),
                raw.python_package
            );
        }
        let d = &raw.native_dir;
        if d.is_empty() || d == "." || d == ".." || d.contains(['/', '\\', ':']) {
            bail!(
                "{} = {d:?} must be one folder name inside the Python package (no `/`, `\\`, `..`), e.g. \"_native\"",
                at("native-dir")
            );
        }
        let glibc_floor = exact(&raw.glibc_floor, &at("glibc-floor"))?;
        if glibc_floor.major != 2 {
            bail!(
                "{} = {:?} is not a glibc 2.x version",
                at("glibc-floor"),
                raw.glibc_floor
            );
        }
        let triples = targets(&raw.targets, &at("targets"))?;
        let macos_deployment_target = macos(&raw, &triples, &file)?;
        let names: Vec<&str> = raw.targets.iter().map(String::as_str).collect();
        for (table, map) in [
            ("fallback", &raw.fallback),
            ("runners", &raw.runners),
            ("cross-images", &raw.cross_images),
        ] {
            known_keys(
                &file,
                &format!("[workspace.metadata.dist.{table}]"),
                map.keys(),
                &names,
            )?;
        }
        for (from, to) in &raw.fallback {
            let key = format!("[workspace.metadata.dist.fallback] {from}");
            let (from_t, to_t) = (
                triples[from],
                Triple::parse(to).with_context(|| format!("{file}: {key}"))?,
            );
            if !from_t.msvc || to_t.os != Os::Windows || to_t.msvc || to_t.arch != from_t.arch {
                bail!("{file}: {key} = {to:?}: a fallback replaces an msvc target by a windows-gnu or -gnullvm target of the same architecture");
            }
        }
        if let Some(missing) = raw.targets.iter().find(|t| !raw.runners.contains_key(*t)) {
            bail!("{file}: [workspace.metadata.dist.runners] has no runner for {missing} (`cargo xtask plan` needs one per target)");
        }
        Ok(DistMetadata {
            binary: raw.binary,
            package: raw.package,
            python_package: raw.python_package,
            native_dir: raw.native_dir,
            glibc_floor,
            targets: raw.targets,
            macos_deployment_target,
            fallback: raw.fallback,
            runners: raw.runners,
            cross_images: raw.cross_images,
        })
    }

    pub fn macos_deployment_target(&self, arch: Arch) -> Result<Version2> {
        let key = arch.triple_name();
        self.macos_deployment_target
            .get(key)
            .copied()
            .with_context(|| {
                format!("[workspace.metadata.dist.macos-deployment-target] has no `{key}` entry")
            })
    }
}

/// Each target known and listed once.
fn targets<'a>(targets: &'a [String], at: &str) -> Result<BTreeMap<&'a String, Triple>> {
    if targets.is_empty() {
        bail!("{at} is empty");
    }
    let mut seen = BTreeMap::new();
    for t in targets {
        let triple = Triple::parse(t).with_context(|| at.to_string())?;
        if seen.insert(t, triple).is_some() {
            bail!("{at} lists {t} twice");
        }
    }
    Ok(seen)
}

/// The macOS floor of every architecture a macOS target needs, within what that arch can run.
fn macos(
    raw: &Raw,
    triples: &BTreeMap<&String, Triple>,
    file: &impl std::fmt::Display,
) -> Result<BTreeMap<String, Version2>> {
    let table = "[workspace.metadata.dist.macos-deployment-target]";
    let arch_names: Vec<&str> = MACOS_FLOORS.iter().map(|(a, _)| a.triple_name()).collect();
    known_keys(file, table, raw.macos_deployment_target.keys(), &arch_names)?;
    let mut out = BTreeMap::new();
    for (arch, floor) in MACOS_FLOORS {
        let key = arch.triple_name();
        let Some(given) = raw.macos_deployment_target.get(key) else {
            if let Some(t) = triples
                .iter()
                .find(|(_, t)| t.os == Os::Macos && t.arch == arch)
            {
                bail!(
                    "{file}: {table} has no `{key}` entry, which target {} needs",
                    t.0
                );
            }
            continue;
        };
        let at = format!("{file}: {table} {key}");
        let v = exact(given, &at)?;
        if v < floor {
            bail!("{at} = {given:?} is below {floor}, the oldest macOS {key} binaries run on");
        }
        if v.major >= 11 && v.minor != 0 {
            bail!(
                "{at} = {given:?}: macOS 11 and later are spelled `{}.0` in wheel tags",
                v.major
            );
        }
        out.insert(key.to_string(), v);
    }
    Ok(out)
}

fn exact(given: &str, at: &str) -> Result<Version2> {
    Version2::parse_exact(given).map_err(|e| anyhow::anyhow!("{at} = {given:?}: {e}"))
}

fn is_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Fails on the first key not in `allowed`, naming the nearest allowed one.
fn known_keys<'k>(
    file: &impl std::fmt::Display,
    table: &str,
    keys: impl IntoIterator<Item = &'k String>,
    allowed: &[&str],
) -> Result<()> {
    for key in keys {
        if allowed.contains(&key.as_str()) {
            continue;
        }
        let nearest = allowed
            .iter()
            .min_by_key(|a| strsim::levenshtein(key, a))
            .filter(|a| strsim::levenshtein(key, a) <= a.len().max(3) / 2);
        let hint = match nearest {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!("expected one of: {}", allowed.join(", ")),
        };
        bail!("{file}: {table} has an unknown key `{key}`; {hint}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This repository's table, with `edit` applied to its TOML text.
    fn parse_edited(edit: impl Fn(String) -> String) -> Result<DistMetadata> {
        let text = std::fs::read_to_string(crate::project_root().join("Cargo.toml")).unwrap();
        let toml: toml::Table = toml::from_str(&edit(text)).unwrap();
        let value = serde_json::to_value(toml).unwrap();
        DistMetadata::parse(
            Path::new("/w/Cargo.toml"),
            value.pointer("/workspace/metadata/dist"),
        )
    }

    fn error(edit: impl Fn(String) -> String) -> String {
        format!("{:#}", parse_edited(edit).unwrap_err())
    }

    #[test]
    fn this_repository_parses() {
        let d = parse_edited(|t| t).unwrap();
        assert_eq!(d.glibc_floor, Version2::new(2, 17));
        assert_eq!(
            d.macos_deployment_target(Arch::Aarch64).unwrap(),
            Version2::new(11, 0)
        );
    }

    #[test]
    fn unknown_keys_name_the_file_the_table_and_the_nearest_key() {
        let e = error(|t| t.replace("native-dir", "nativ-dir"));
        assert!(e.contains("/w/Cargo.toml: [workspace.metadata.dist] has an unknown key `nativ-dir`; did you mean `native-dir`?"), "{e}");
        let e = error(|t| t.replace("dist.cross-images]", "dist.cross-image]"));
        assert!(
            e.contains("unknown key `cross-image`; did you mean `cross-images`?"),
            "{e}"
        );
        let e = error(|t| t.replace("aarch64 = \"11.0\"", "aarch64 = \"11.0\"\narm64 = \"11.0\""));
        assert!(
            e.contains(
                "[workspace.metadata.dist.macos-deployment-target] has an unknown key `arm64`"
            ),
            "{e}"
        );
        let e = error(|t| {
            t.replace(
                "x86_64-apple-darwin = \"macos-15-intel\"",
                "x86_64-apple-darwn = \"macos-15-intel\"",
            )
        });
        assert!(e.contains("[workspace.metadata.dist.runners] has an unknown key `x86_64-apple-darwn`; did you mean `x86_64-apple-darwin`?"), "{e}");
    }

    #[test]
    fn bad_values_name_the_file_and_the_key() {
        let cases: [(&str, &str, &str); 10] = [
            (
                "x86_64 = \"10.12\"",
                "x86_64 = \"9\"",
                "macos-deployment-target] x86_64 = \"9\"",
            ),
            ("x86_64 = \"10.12\"", "x86_64 = \"10.8\"", "is below 10.9"),
            (
                "aarch64 = \"11.0\"",
                "aarch64 = \"10.15\"",
                "aarch64 = \"10.15\" is below 11.0",
            ),
            ("aarch64 = \"11.0\"", "aarch64 = \"12.3\"", "spelled `12.0`"),
            (
                "glibc-floor = \"2.17\"",
                "glibc-floor = \"2.17.1\"",
                "glibc-floor = \"2.17.1\": version `2.17.1` is not of the form MAJOR.MINOR",
            ),
            (
                "native-dir = \"_native\"",
                "native-dir = \"../../etc\"",
                "native-dir = \"../../etc\" must be one folder name",
            ),
            (
                "python-package = \"mcp_sidecar\"",
                "python-package = \"mcp-sidecar\"",
                "python-package = \"mcp-sidecar\" is not a Python import name",
            ),
            (
                "    \"aarch64-apple-darwin\",\n",
                "    \"aarch64-apple-darwin\",\n    \"aarch64-apple-darwin\",\n",
                "targets lists aarch64-apple-darwin twice",
            ),
            (
                "    \"aarch64-apple-darwin\",\n",
                "    \"riscv64gc-unknown-linux-gnu\",\n",
                "targets: target `riscv64gc-unknown-linux-gnu`",
            ),
            (
                "x86_64-pc-windows-msvc = \"windows-2022\"",
                "",
                "runners] has no runner for x86_64-pc-windows-msvc",
            ),
        ];
        for (from, to, wanted) in cases {
            let e = error(|t| {
                assert!(t.contains(from), "{from}");
                t.replacen(from, to, 1)
            });
            assert!(
                e.starts_with("/w/Cargo.toml: [workspace.metadata.dist"),
                "{e}"
            );
            assert!(e.contains(wanted), "{to}: {e}");
        }
        let e = error(|t| t.replace("glibc-floor = \"2.17\"", "glibc-floor = 2.17"));
        assert!(
            e.contains("[workspace.metadata.dist] glibc-floor: invalid type"),
            "{e}"
        );
        let e = error(|t| t.replace("aarch64 = \"11.0\"\n", ""));
        assert!(
            e.contains("has no `aarch64` entry, which target aarch64-apple-darwin needs"),
            "{e}"
        );
        let e = error(|t| {
            t.replace(
                "= \"x86_64-pc-windows-gnu\"",
                "= \"aarch64-pc-windows-gnu\"",
            )
        });
        assert!(
            e.contains("[workspace.metadata.dist.fallback] x86_64-pc-windows-msvc"),
            "{e}"
        );
    }
}
