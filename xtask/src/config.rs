//! The release configuration, read once: `[workspace.metadata.dist]` (through `cargo metadata`)
//! and pyproject.toml's `[project]` and `[tool.maturin]`. Nothing downstream hard-codes a name.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::util::Glob;
use crate::wheel::{Arch, DistName, Version, Version2};

/// Everything `dist` and `plan` need to know about the release.
#[derive(Debug, Clone)]
pub struct Config {
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    /// The distribution name (`[project] name`), validated.
    pub name: DistName,
    /// The workspace version in PEP 440 form: the one version of the crate, the Python package
    /// and every wheel and sdist.
    pub version: Version,
    pub dist: DistMetadata,
    pub project: Project,
    /// Folder that holds the Python package (`[tool.maturin] python-source`), absolute.
    pub python_source: PathBuf,
}

/// `[workspace.metadata.dist]` in Cargo.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DistMetadata {
    /// The Cargo binary target that becomes `_native/<binary>`.
    pub binary: String,
    /// The Cargo package that owns `binary`.
    pub package: String,
    /// The import name of the Python package (`mcp_sidecar`).
    pub python_package: String,
    /// Sub-folder of the Python package that holds the binary (`_native`).
    pub native_dir: String,
    pub glibc_floor: Version2,
    pub targets: Vec<String>,
    /// Minimum macOS per architecture (`x86_64`, `aarch64`).
    #[serde(default)]
    pub macos_deployment_target: BTreeMap<String, Version2>,
    /// What to build when a target cannot be linked on this host (msvc off Windows).
    #[serde(default)]
    pub fallback: BTreeMap<String, String>,
    /// GitHub Actions runner per release target (`cargo xtask plan`).
    #[serde(default)]
    pub runners: BTreeMap<String, String>,
    /// Docker image per target for `--builder cross`.
    #[serde(default)]
    pub cross_images: BTreeMap<String, String>,
}

impl DistMetadata {
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

/// PEP 621 `[project]`, the parts a wheel's METADATA carries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Project {
    pub name: String,
    pub version: Option<String>,
    #[serde(default)]
    pub dynamic: Vec<String>,
    pub description: Option<String>,
    pub readme: Option<Readme>,
    pub requires_python: Option<String>,
    pub license: Option<License>,
    pub license_files: Option<Vec<String>>,
    #[serde(default)]
    pub authors: Vec<Person>,
    #[serde(default)]
    pub maintainers: Vec<Person>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub classifiers: Vec<String>,
    #[serde(default)]
    pub urls: BTreeMap<String, String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub optional_dependencies: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub scripts: BTreeMap<String, String>,
    #[serde(default)]
    pub gui_scripts: BTreeMap<String, String>,
    #[serde(default)]
    pub entry_points: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Readme {
    File(String),
    Table {
        file: Option<String>,
        text: Option<String>,
        #[serde(rename = "content-type")]
        content_type: Option<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum License {
    /// PEP 639 SPDX expression (`license = "MIT"`).
    Expression(String),
    Table {
        text: Option<String>,
        file: Option<String>,
    },
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Person {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PyProject {
    project: Project,
    #[serde(default)]
    tool: Tool,
}

#[derive(Debug, Default, Deserialize)]
struct Tool {
    #[serde(default)]
    maturin: Maturin,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Maturin {
    python_source: Option<String>,
}

/// A readme resolved to its text and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadmeText {
    pub text: String,
    pub content_type: String,
}

impl Config {
    /// Reads the workspace (via `cargo metadata`, which honours `CARGO_TARGET_DIR`) and pyproject.toml.
    pub fn load() -> Result<Config> {
        let metadata = cargo_metadata::MetadataCommand::new()
            .current_dir(crate::project_root())
            .no_deps()
            .exec()
            .context("running `cargo metadata`")?;
        let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
        let dist_value = metadata
            .workspace_metadata
            .get("dist")
            .cloned()
            .context("Cargo.toml has no [workspace.metadata.dist] table")?;
        let dist: DistMetadata = serde_json::from_value(dist_value)
            .context("reading [workspace.metadata.dist] in Cargo.toml")?;
        let package = metadata
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == dist.package)
            .with_context(|| {
                format!(
                    "[workspace.metadata.dist] package = {:?} is not a workspace member",
                    dist.package
                )
            })?;
        if !package
            .targets
            .iter()
            .any(|t| t.name == dist.binary && t.is_bin())
        {
            bail!(
                "package `{}` has no binary target named `{}` ([workspace.metadata.dist] binary)",
                dist.package,
                dist.binary
            );
        }
        let version = Version::parse(&package.version.to_string())
            .with_context(|| format!("the version of package `{}` in Cargo.toml", dist.package))?;
        let pyproject_path = workspace_root.join("pyproject.toml");
        let (project, python_source) = read_pyproject(&pyproject_path)?;
        let name = DistName::parse(&project.name)
            .with_context(|| format!("{}: [project] name", pyproject_path.display()))?;
        let cfg = Config {
            name,
            python_source: workspace_root.join(python_source),
            target_dir: metadata.target_directory.clone().into_std_path_buf(),
            workspace_root,
            version,
            dist,
            project,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        match (&self.project.version, self.project.dynamic.iter().any(|d| d == "version")) {
            (None, true) => {}
            (Some(v), false) if Version::parse(v).ok().as_ref() == Some(&self.version) => {}
            (Some(v), _) => bail!(
                "pyproject.toml pins version {v} but the workspace says {}; make it `dynamic = [\"version\"]`",
                self.version
            ),
            (None, false) => bail!("pyproject.toml has no version and does not declare it dynamic"),
        }
        if let Some(other) = self.project.dynamic.iter().find(|d| *d != "version") {
            bail!("pyproject.toml declares `{other}` dynamic; `cargo xtask dist` only fills in `version`");
        }
        if self.dist.targets.is_empty() {
            bail!("[workspace.metadata.dist] targets is empty");
        }
        let package_dir = self.package_dir();
        if !package_dir.join("__init__.py").is_file() {
            bail!(
                "{} is not a Python package (no __init__.py); check [workspace.metadata.dist] python-package and [tool.maturin] python-source",
                package_dir.display()
            );
        }
        Ok(())
    }

    /// `python/mcp_sidecar`
    pub fn package_dir(&self) -> PathBuf {
        self.python_source.join(&self.dist.python_package)
    }

    /// The readme's text and content type (PEP 621 rules), if the project declares one.
    pub fn readme(&self) -> Result<Option<ReadmeText>> {
        let Some(readme) = &self.project.readme else {
            return Ok(None);
        };
        let (file, text, content_type) = match readme {
            Readme::File(file) => (Some(file.as_str()), None, None),
            Readme::Table {
                file,
                text,
                content_type,
            } => (file.as_deref(), text.clone(), content_type.clone()),
        };
        let text = match (file, text) {
            (Some(file), None) => {
                let path = self.workspace_root.join(file);
                fs::read_to_string(&path)
                    .with_context(|| format!("reading the readme {}", path.display()))?
            }
            (None, Some(text)) => text,
            _ => bail!("pyproject.toml readme needs exactly one of `file` and `text`"),
        };
        let content_type = match content_type {
            Some(ct) => ct,
            None => readme_content_type(file.unwrap_or_default())?.to_string(),
        };
        Ok(Some(ReadmeText { text, content_type }))
    }

    /// License files for `.dist-info/licenses/`: `license-files` globs, `license.file`, or the
    /// usual names at the project root (LICENSE*, LICENCE*, COPYING*, NOTICE*, AUTHORS*).
    pub fn license_files(&self) -> Result<Vec<PathBuf>> {
        let root = &self.workspace_root;
        let mut found = Vec::new();
        if let Some(globs) = &self.project.license_files {
            for glob in globs {
                let matches = glob_in_root(root, glob)?;
                if matches.is_empty() {
                    bail!("pyproject.toml license-files: `{glob}` matches no file");
                }
                found.extend(matches);
            }
        } else if let Some(License::Table {
            file: Some(file), ..
        }) = &self.project.license
        {
            found.push(root.join(file));
        } else {
            for name in sorted_file_names(root)? {
                let upper = name.to_ascii_uppercase();
                if ["LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS"]
                    .iter()
                    .any(|p| upper.starts_with(p))
                {
                    found.push(root.join(name));
                }
            }
        }
        found.sort();
        found.dedup();
        Ok(found)
    }
}

fn read_pyproject(path: &Path) -> Result<(Project, String)> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let parsed: PyProject =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let python_source = parsed
        .tool
        .maturin
        .python_source
        .unwrap_or_else(|| ".".to_string());
    Ok((parsed.project, python_source))
}

/// PEP 621: the content type follows the readme's extension.
pub fn readme_content_type(file: &str) -> Result<&'static str> {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".md") {
        Ok("text/markdown; charset=UTF-8")
    } else if lower.ends_with(".rst") {
        Ok("text/x-rst; charset=UTF-8")
    } else if lower.ends_with(".txt") {
        Ok("text/plain; charset=UTF-8")
    } else {
        bail!("readme `{file}` has an unknown extension; give `content-type` in pyproject.toml")
    }
}

fn sorted_file_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.path().is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// A license-files glob, relative to the root; only its last part may hold wildcards.
fn glob_in_root(root: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let (dir, name_pattern) = match pattern.rsplit_once('/') {
        Some((dir, name)) => (root.join(dir), name),
        None => (root.to_path_buf(), pattern),
    };
    if dir.to_string_lossy().contains(['*', '?', '[']) {
        bail!("license-files pattern `{pattern}`: only the file name may contain wildcards");
    }
    let glob = Glob::new(name_pattern)?;
    Ok(sorted_file_names(&dir)?
        .into_iter()
        .filter(|name| glob.is_match(name))
        .map(|name| dir.join(name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_workspace() {
        let cfg = Config::load().unwrap();
        assert_eq!(cfg.dist.binary, "mcp-sidecar");
        assert!(cfg.package_dir().ends_with("python/mcp_sidecar"));
        assert_eq!(
            cfg.dist.macos_deployment_target(Arch::Aarch64).unwrap(),
            Version2::new(11, 0)
        );
        let readme = cfg.readme().unwrap().unwrap();
        assert!(readme.content_type.starts_with("text/markdown"));
        let licenses = cfg.license_files().unwrap();
        assert!(
            licenses.iter().any(|p| p.ends_with("LICENSE")),
            "{licenses:?}"
        );
    }

    #[test]
    fn readme_types_follow_the_extension() {
        assert!(readme_content_type("README.md")
            .unwrap()
            .starts_with("text/markdown"));
        assert!(readme_content_type("docs/README.RST")
            .unwrap()
            .starts_with("text/x-rst"));
        assert!(readme_content_type("README").is_err());
    }

    #[test]
    fn pyproject_shapes_parse() {
        let p: PyProject = toml::from_str(
            r#"
            [project]
            name = "x"
            dynamic = ["version"]
            readme = { text = "hi", content-type = "text/plain" }
            license = "MIT OR Apache-2.0"
            authors = [{ name = "A", email = "a@example.org" }]
            [project.entry-points.g]
            k = "m:f"
            "#,
        )
        .unwrap();
        assert!(matches!(p.project.license, Some(License::Expression(_))));
        assert!(matches!(p.project.readme, Some(Readme::Table { .. })));
        assert_eq!(p.project.entry_points["g"]["k"], "m:f");
    }
}
