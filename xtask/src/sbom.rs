//! The SBOM every platform wheel carries (PEP 770: `<dist-info>/sboms/<binary>.cdx.json`):
//! CycloneDX 1.5 JSON listing the crates compiled into that target's binary, with versions,
//! licenses, package URLs and Cargo.lock's SHA-256, and the Python package as the metadata
//! component. Written with the `cyclonedx-bom` crate (the CycloneDX project's Rust model): plain
//! serde structs, so one value gives one byte string; we set no timestamp and no tool version, and
//! the serial number is a UUID derived from the SHA-256 of the rest of the document.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use cargo_metadata::cargo_platform::Cfg;
use cargo_metadata::{DependencyKind, Metadata, PackageId};
use cyclonedx_bom::models::component::{Classification, Scope};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{LicenseChoice, Licenses};
use cyclonedx_bom::prelude::{Bom, Component, Components, Purl, SpdxExpression, SpecVersion};
use cyclonedx_bom::prelude::{Metadata as BomMetadata, UrnUuid};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{Config, License};
use crate::target::Target;

/// The file's path inside the dist-info folder.
pub fn path_in_dist_info(binary: &str) -> String {
    format!("sboms/{binary}.cdx.json")
}

/// One crate compiled into a binary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Crate {
    pub name: String,
    pub version: String,
    /// SPDX expression from the crate's manifest.
    pub license: Option<String>,
    /// Cargo.lock's `checksum` (registry crates only), lowercase hex SHA-256.
    pub sha256: Option<String>,
    /// Package URLs of the crates it depends on in this binary, sorted.
    pub deps: Vec<String>,
    /// Runs at build time only (a proc macro, or used only by one): not in the binary, listed
    /// with CycloneDX scope `excluded`.
    pub build_only: bool,
}

impl Crate {
    pub fn purl(&self) -> Result<String> {
        Ok(Purl::new("cargo", &self.name, &self.version)
            .with_context(|| format!("a package URL for crate {} {}", self.name, self.version))?
            .to_string())
    }
}

/// The Python package the wheel installs: the SBOM's subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Normalized distribution name (`mcp-sidecar`).
    pub name: String,
    pub version: String,
    pub license: Option<String>,
    /// Package URL of the crate that is the binary (the subject depends on it).
    pub binary_purl: String,
}

/// Every planned target's SBOM bytes, keyed by the triple cargo compiles for.
pub struct Sboms {
    by_triple: BTreeMap<String, Vec<u8>>,
}

impl Sboms {
    /// Per triple of the plan, the crates reachable from the sidecar package through normal,
    /// non-proc-macro dependencies whose platform condition holds for that triple
    /// (`rustc --print cfg`), as one CycloneDX document each.
    pub fn resolve(cfg: &Config, targets: &[Target]) -> Result<Sboms> {
        let triples: Vec<&str> = targets.iter().map(|t| t.build_triple.as_str()).collect();
        let subject = subject(cfg)?;
        let mut by_triple = BTreeMap::new();
        for (triple, crates) in crates_by_triple(cfg, &triples)? {
            by_triple.insert(triple, document(&subject, &crates)?);
        }
        Ok(Sboms { by_triple })
    }

    /// The SBOM of `target`'s binary.
    pub fn of(&self, target: &Target) -> Result<&[u8]> {
        self.by_triple
            .get(&target.build_triple)
            .map(Vec::as_slice)
            .with_context(|| format!("no SBOM was resolved for {}", target.build_triple))
    }
}

/// Per build triple, the crates compiled into the sidecar binary (what its SBOM lists). One
/// `cargo metadata` over every triple; a feature set that depended on which triples share an
/// invocation would show here as a mismatch with the binary's own dependency list.
pub fn crates_by_triple(cfg: &Config, triples: &[&str]) -> Result<BTreeMap<String, Vec<Crate>>> {
    let triples: BTreeSet<&str> = triples.iter().copied().collect();
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.current_dir(&cfg.workspace_root);
    let mut args = Vec::new();
    for t in &triples {
        args.extend(["--filter-platform".to_string(), t.to_string()]);
    }
    cmd.other_options(args);
    // cargo and one rustc per triple at once: they are most of a warm `dist`'s SBOM time.
    let (metadata, cfgs) = std::thread::scope(|s| {
        let cfgs: Vec<_> = triples
            .iter()
            .map(|&t| (t, s.spawn(move || rustc_cfg(t))))
            .collect();
        let metadata = cmd.exec().context("running `cargo metadata` for the SBOMs");
        let cfgs: Vec<_> = cfgs
            .into_iter()
            .map(|(t, h)| {
                let cfg = h.join().unwrap_or_else(|_| {
                    Err(anyhow::anyhow!("asking rustc for {t}'s cfg panicked"))
                });
                (t, cfg)
            })
            .collect();
        (metadata, cfgs)
    });
    let metadata = metadata?;
    let checksums = lock_checksums(cfg)?;
    let mut by_triple = BTreeMap::new();
    for (triple, cfgs) in cfgs {
        let crates = crates_in_binary(&metadata, &checksums, &cfg.dist.package, triple, &cfgs?)?;
        by_triple.insert(triple.to_string(), crates);
    }
    Ok(by_triple)
}

fn subject(cfg: &Config) -> Result<Subject> {
    let license = match &cfg.project.license {
        Some(License::Expression(e)) => Some(e.clone()),
        _ => None,
    };
    Ok(Subject {
        name: cfg.name.to_string(),
        version: cfg.version.to_string(),
        license,
        binary_purl: Purl::new("cargo", &cfg.dist.package, &cfg.version.to_string())
            .context("the sidecar crate's package URL")?
            .to_string(),
    })
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

type LockKey = (String, String, Option<String>);

/// (name, version, source) → Cargo.lock's checksum.
fn lock_checksums(cfg: &Config) -> Result<BTreeMap<LockKey, String>> {
    let path = cfg.workspace_root.join("Cargo.lock");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let lock: Lockfile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(lock
        .package
        .into_iter()
        .filter_map(|p| Some(((p.name, p.version, p.source), p.checksum?)))
        .collect())
}

/// The `cfg` values rustc sets for `triple`.
pub(crate) fn rustc_cfg(triple: &str) -> Result<Vec<Cfg>> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(&rustc)
        .args(["--print", "cfg", "--target", triple])
        .output()
        .with_context(|| format!("running `{rustc} --print cfg --target {triple}`"))?;
    if !out.status.success() {
        bail!(
            "`{rustc} --print cfg --target {triple}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Cfg::from_str(l).with_context(|| format!("rustc printed the cfg `{l}`")))
        .collect()
}

/// The crates linked into `package`'s binary for `triple`, then the build-time ones (proc macros
/// and what only they use: `build_only`), each sorted by name and version.
pub fn crates_in_binary(
    metadata: &Metadata,
    checksums: &BTreeMap<LockKey, String>,
    package: &str,
    triple: &str,
    cfgs: &[Cfg],
) -> Result<Vec<Crate>> {
    let linked = reachable(metadata, checksums, package, triple, cfgs, false)?;
    let names: BTreeSet<(String, String)> = linked
        .iter()
        .map(|c| (c.name.clone(), c.version.clone()))
        .collect();
    let mut crates = linked;
    // cargo-auditable (up to 0.7.7) lists a proc macro that has more than one cargo target, and
    // what it uses, as runtime (rust-secure-code/cargo-auditable#214 fixed single-target ones
    // only); naming them here as excluded lets `check` tell that mislabel from a missing crate.
    for mut c in reachable(metadata, checksums, package, triple, cfgs, true)? {
        if !names.contains(&(c.name.clone(), c.version.clone())) {
            c.build_only = true;
            crates.push(c);
        }
    }
    Ok(crates)
}

/// The crates reachable from `package` through normal dependencies whose platform condition holds
/// for `triple`; into proc macros too when `through_proc_macros`.
fn reachable(
    metadata: &Metadata,
    checksums: &BTreeMap<LockKey, String>,
    package: &str,
    triple: &str,
    cfgs: &[Cfg],
    through_proc_macros: bool,
) -> Result<Vec<Crate>> {
    let resolve = metadata
        .resolve
        .as_ref()
        .context("`cargo metadata` gave no resolve graph")?;
    let root = metadata
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == package)
        .with_context(|| format!("package `{package}` is not in the workspace"))?
        .id
        .clone();
    let nodes: BTreeMap<&PackageId, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let mut seen: BTreeSet<PackageId> = BTreeSet::from([root.clone()]);
    let mut queue = vec![root];
    let mut crates = Vec::new();
    while let Some(id) = queue.pop() {
        let node = nodes
            .get(&id)
            .with_context(|| format!("{id} is not in the resolve graph"))?;
        let mut deps = Vec::new();
        for dep in &node.deps {
            let linked = dep.dep_kinds.iter().any(|k| {
                k.kind == DependencyKind::Normal
                    && k.target.as_ref().is_none_or(|p| p.matches(triple, cfgs))
            });
            // A proc macro runs inside the compiler; none of its code reaches the binary.
            let proc_macro = metadata[&dep.pkg].targets.iter().any(|t| t.is_proc_macro());
            if !linked || (proc_macro && !through_proc_macros) {
                continue;
            }
            let p = &metadata[&dep.pkg];
            deps.push(Purl::new("cargo", &p.name, &p.version.to_string())?.to_string());
            if seen.insert(dep.pkg.clone()) {
                queue.push(dep.pkg.clone());
            }
        }
        deps.sort();
        deps.dedup();
        let p = &metadata[&id];
        let source = p.source.as_ref().map(|s| s.repr.clone());
        let key = (p.name.to_string(), p.version.to_string(), source);
        crates.push(Crate {
            name: p.name.to_string(),
            version: p.version.to_string(),
            license: p.license.clone(),
            sha256: checksums.get(&key).cloned(),
            deps,
            build_only: false,
        });
    }
    crates.sort();
    Ok(crates)
}

/// The CycloneDX 1.5 JSON for `subject` built from `crates`.
pub fn document(subject: &Subject, crates: &[Crate]) -> Result<Vec<u8>> {
    let mut crates = crates.to_vec();
    crates.sort();
    let subject_purl = Purl::new("pypi", &subject.name, &subject.version)
        .context("the Python package's package URL")?
        .to_string();
    let mut top = Component::new(
        Classification::Application,
        &subject.name,
        &subject.version,
        Some(subject_purl.clone()),
    );
    top.purl = Purl::from_str(&subject_purl).ok();
    top.licenses = subject.license.as_deref().map(licenses);
    let mut components = Vec::new();
    let mut dependencies = vec![Dependency {
        dependency_ref: subject_purl,
        dependencies: vec![subject.binary_purl.clone()],
    }];
    for c in &crates {
        let purl = c.purl()?;
        let mut component = Component::new(
            Classification::Library,
            &c.name,
            &c.version,
            Some(purl.clone()),
        );
        component.purl = Purl::from_str(&purl).ok();
        component.licenses = c.license.as_deref().map(licenses);
        component.scope = c.build_only.then_some(Scope::Excluded);
        component.hashes = c.sha256.as_ref().map(|h| {
            Hashes(vec![Hash {
                alg: HashAlgorithm::SHA_256,
                content: HashValue(h.clone()),
            }])
        });
        components.push(component);
        dependencies.push(Dependency {
            dependency_ref: purl,
            dependencies: c.deps.clone(),
        });
    }
    let mut bom = Bom {
        version: 1,
        serial_number: None,
        metadata: Some(BomMetadata {
            component: Some(top),
            ..BomMetadata::default()
        }),
        components: Some(Components(components)),
        dependencies: Some(Dependencies(dependencies)),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    };
    let unsigned = to_json(&bom)?;
    bom.serial_number = Some(content_serial(&unsigned));
    to_json(&bom)
}

fn licenses(expression: &str) -> Licenses {
    let choice = match SpdxExpression::parse_lax(expression.to_string()) {
        Ok(e) => LicenseChoice::Expression(e),
        // Not SPDX: kept as the crate states it, as a named license.
        Err(_) => LicenseChoice::license(expression),
    };
    Licenses(vec![choice])
}

fn to_json(bom: &Bom) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    bom.clone()
        .output_as_json_v1_5(&mut out)
        .context("writing the CycloneDX JSON")?;
    out.push(b'\n');
    Ok(out)
}

/// `urn:uuid:` of a version-8 UUID made from the first 16 bytes of the content's SHA-256.
fn content_serial(content: &[u8]) -> UrnUuid {
    let digest = Sha256::digest(content);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    UrnUuid::from(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Builder;
    use crate::target::{plan, Host};

    fn sboms(triples: &[&str]) -> (Config, Vec<Target>, Sboms) {
        let cfg = Config::load().unwrap();
        let host = Host::new("x86_64-unknown-linux-gnu").unwrap();
        let only: Vec<String> = triples.iter().map(|t| t.to_string()).collect();
        let targets = plan(&cfg, &host, &only, Builder::Auto).unwrap();
        let sboms = Sboms::resolve(&cfg, &targets).unwrap();
        (cfg, targets, sboms)
    }

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    /// Name → version of the components in the binary (scope not `excluded`).
    fn versions(bytes: &[u8]) -> BTreeMap<String, String> {
        json(bytes)["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["scope"] != "excluded")
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["version"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn locked_version(name: &str) -> String {
        let text = fs::read_to_string(crate::project_root().join("Cargo.lock")).unwrap();
        let lock: Lockfile = toml::from_str(&text).unwrap();
        let found: Vec<String> = lock
            .package
            .into_iter()
            .filter(|p| p.name == name)
            .map(|p| p.version)
            .collect();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        found[0].clone()
    }

    #[test]
    fn linux_and_windows_list_their_own_crates_at_the_locked_versions_byte_for_byte_again() {
        let both = ["x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"];
        let (_, targets, first) = sboms(&both);
        let (_, _, second) = sboms(&both);
        let linux = first.of(&targets[0]).unwrap();
        let windows = first.of(&targets[1]).unwrap();
        assert_eq!(linux, second.of(&targets[0]).unwrap());
        assert_eq!(windows, second.of(&targets[1]).unwrap());

        let on_linux = versions(linux);
        for name in ["rmcp", "tokio", "serde_json", "mcp-sidecar"] {
            assert_eq!(on_linux.get(name), Some(&locked_version(name)), "{name}");
        }
        let on_windows = versions(windows);
        assert!(on_windows.contains_key("windows-sys"), "{on_windows:?}");
        assert!(!on_linux.contains_key("windows-sys"), "{on_linux:?}");
        assert!(on_linux.contains_key("libc"), "{on_linux:?}");
        // Proc macros run in the compiler and are not in the binary.
        assert!(!on_linux.contains_key("tokio-macros"), "{on_linux:?}");
        assert!(!on_linux.contains_key("syn"), "{on_linux:?}");
        // ...and are named as build-time only, so the binary's cargo-auditable list can be checked.
        let excluded: Vec<String> = json(linux)["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["scope"] == "excluded")
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert!(excluded.iter().any(|n| n == "tokio-macros"), "{excluded:?}");
        assert!(excluded.iter().any(|n| n == "syn"), "{excluded:?}");
        assert!(!excluded.iter().any(|n| n == "tokio"), "{excluded:?}");

        let text = String::from_utf8(linux.to_vec()).unwrap();
        assert!(
            !text.contains("/work/") && !text.contains("file://"),
            "a path leaked"
        );
        let doc = json(linux);
        assert_eq!(doc["specVersion"], "1.5");
        assert_eq!(
            doc["metadata"]["component"]["purl"],
            "pkg:pypi/mcp-sidecar@0.1.0"
        );
        assert!(doc["metadata"].get("timestamp").is_none());
        let tokio = doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "tokio")
            .unwrap();
        assert_eq!(
            tokio["purl"],
            format!("pkg:cargo/tokio@{}", locked_version("tokio"))
        );
        assert_eq!(tokio["licenses"][0]["expression"], "MIT");
        assert_eq!(tokio["hashes"][0]["alg"], "SHA-256");
        assert_eq!(tokio["hashes"][0]["content"].as_str().unwrap().len(), 64);
    }

    /// check-jsonschema against the official 1.5 schema as cyclonedx-python-lib ships it; the
    /// base URI points its `spdx` and `jsf` references at the copies beside it (no network).
    #[test]
    fn the_sboms_pass_the_cyclonedx_1_5_json_schema() {
        let sh = xshell::Shell::new().unwrap();
        let venv = crate::python_env::Venv::ensure(
            &sh,
            "sbom-schema",
            crate::python_env::NEWEST,
            &["check-jsonschema==0.39.0", "cyclonedx-python-lib==11.12.0"],
        )
        .unwrap();
        let python = venv.python();
        let res = xshell::cmd!(
            sh,
            "{python} -c 'import cyclonedx.schema, os; print(os.path.dirname(cyclonedx.schema.__file__))'"
        )
        .read()
        .unwrap();
        let schema = std::path::Path::new(res.trim()).join("_res/bom-1.5.SNAPSHOT.schema.json");
        assert!(schema.is_file(), "{}", schema.display());
        let base = format!("file://{}", schema.display());
        let dir = crate::project_root().join("target/sbom-schema-test");
        fs::create_dir_all(&dir).unwrap();
        let (_, targets, sboms) = sboms(&["x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"]);
        let mut files = Vec::new();
        for t in &targets {
            let file = dir.join(format!("{}.cdx.json", t.build_triple));
            fs::write(&file, sboms.of(t).unwrap()).unwrap();
            files.push(file);
        }
        let first = files[0].clone();
        let check = venv.bin("check-jsonschema");
        xshell::cmd!(
            sh,
            "{check} --base-uri {base} --schemafile {schema} {files...}"
        )
        .run()
        .unwrap();
        // The validator bites: an SPDX id the schema does not know fails it.
        let text = fs::read_to_string(&first).unwrap();
        let bad = dir.join("bad.cdx.json");
        fs::write(
            &bad,
            text.replacen(
                "\"expression\": \"MIT\"",
                "\"license\": {\"id\": \"NOT-SPDX\"}",
                1,
            ),
        )
        .unwrap();
        assert_ne!(text, fs::read_to_string(&bad).unwrap());
        let failed = xshell::cmd!(sh, "{check} --base-uri {base} --schemafile {schema} {bad}")
            .quiet()
            .ignore_stdout()
            .run();
        assert!(failed.is_err(), "an invalid SBOM passed the schema");
    }

    #[test]
    fn the_serial_number_follows_the_content() {
        let subject = Subject {
            name: "pkg".into(),
            version: "1.0".into(),
            license: Some("MIT".into()),
            binary_purl: "pkg:cargo/app@1.0.0".into(),
        };
        let app = Crate {
            name: "app".into(),
            version: "1.0.0".into(),
            license: Some("MIT/Apache-2.0".into()),
            sha256: None,
            deps: vec![],
            build_only: false,
        };
        let one = json(&document(&subject, std::slice::from_ref(&app)).unwrap());
        let again = json(&document(&subject, std::slice::from_ref(&app)).unwrap());
        let other = Crate {
            version: "1.0.1".into(),
            ..app
        };
        let two = json(&document(&subject, &[other]).unwrap());
        assert_eq!(one["serialNumber"], again["serialNumber"]);
        assert_ne!(one["serialNumber"], two["serialNumber"]);
        assert!(one["serialNumber"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:"));
        assert_eq!(
            one["components"][0]["licenses"][0]["expression"],
            "MIT OR Apache-2.0"
        );
    }
}
