//! The release configuration, read once: `[workspace.metadata.dist]` (through `cargo metadata`)
//! and pyproject.toml's `[project]` and `[tool.maturin]`. Nothing downstream hard-codes a name.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

mod dist_table;

pub use dist_table::DistMetadata;

use crate::util::Glob;
use crate::wheel::{DistName, Version};

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
    /// Reads this workspace: call once, pass the value down.
    pub fn load() -> Result<Config> {
        Config::load_from(&crate::project_root())
    }

    /// Reads the workspace at `root` (via `cargo metadata`, which honours `CARGO_TARGET_DIR`)
    /// and its pyproject.toml, and checks every value; writes nothing.
    pub fn load_from(root: &Path) -> Result<Config> {
        let metadata = cargo_metadata::MetadataCommand::new()
            .current_dir(root)
            .no_deps()
            .exec()
            .context("running `cargo metadata`")?;
        let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
        let cargo_toml = workspace_root.join("Cargo.toml");
        let dist = DistMetadata::parse(&cargo_toml, metadata.workspace_metadata.get("dist"))?;
        let package = metadata
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == dist.package)
            .with_context(|| {
                format!(
                    "{}: [workspace.metadata.dist] package = {:?} is not a workspace member",
                    cargo_toml.display(),
                    dist.package
                )
            })?;
        if !package
            .targets
            .iter()
            .any(|t| t.name == dist.binary && t.is_bin())
        {
            bail!(
                "{}: [workspace.metadata.dist] binary = {:?}: package `{}` has no such binary target",
                cargo_toml.display(),
                dist.binary,
                dist.package
            );
        }
        let version = Version::parse(&package.version.to_string()).with_context(|| {
            format!(
                "{}: the version of package `{}` (the version of every wheel)",
                package.manifest_path, dist.package
            )
        })?;
        let pyproject_path = workspace_root.join("pyproject.toml");
        let (project, python_source) = read_pyproject(&pyproject_path)?;
        let name = DistName::parse(&project.name).with_context(|| {
            format!(
                "{}: [project] name = {:?}",
                pyproject_path.display(),
                project.name
            )
        })?;
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
    use crate::wheel::{Arch, Version2};

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

    /// A minimal workspace in a temp folder: one binary crate, a pyproject and a package.
    fn scratch_workspace(name: &str, version: &str, project_name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-cfg-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("app")).unwrap();
        fs::create_dir_all(root.join("python/pkg")).unwrap();
        let ours = fs::read_to_string(crate::project_root().join("Cargo.toml")).unwrap();
        let dist = ours.split_once("[workspace.metadata.dist]").unwrap().1;
        let dist = dist.split_once("[profile.release]").unwrap().0;
        let dist = dist
            .replace("\"mcp-sidecar\"", "\"app\"")
            .replace("\"mcp_sidecar\"", "\"pkg\"");
        let cargo = format!(
            "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n[workspace.package]\nversion = \"{version}\"\n[workspace.metadata.dist]{dist}"
        );
        fs::write(root.join("Cargo.toml"), cargo).unwrap();
        fs::write(
            root.join("app/Cargo.toml"),
            "[package]\nname = \"app\"\nversion.workspace = true\nedition = \"2021\"\n",
        )
        .unwrap();
        fs::create_dir_all(root.join("app/src")).unwrap();
        fs::write(root.join("app/src/main.rs"), "fn main() {}\n").unwrap();
        let pyproject = format!(
            "[project]\nname = {project_name:?}\ndynamic = [\"version\"]\n[tool.maturin]\npython-source = \"python\"\n"
        );
        fs::write(root.join("pyproject.toml"), pyproject).unwrap();
        fs::write(root.join("python/pkg/__init__.py"), "").unwrap();
        root
    }

    fn listing(root: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_semver_prerelease_becomes_its_pep440_form_in_every_file_name() {
        let root = scratch_workspace("beta", "1.0.0-beta.1", "Mcp-Sidecar");
        let cfg = Config::load_from(&root).unwrap();
        assert_eq!(cfg.version.to_string(), "1.0.0b1");
        assert_eq!(cfg.name.as_given(), "Mcp-Sidecar");
        let host = crate::target::Host::new("x86_64-unknown-linux-gnu").unwrap();
        let only = ["x86_64-pc-windows-msvc".to_string()];
        let targets = crate::target::plan(&cfg, &host, &only, crate::flags::Builder::Auto).unwrap();
        assert_eq!(
            targets[0].wheel.to_string(),
            "mcp_sidecar-1.0.0b1-py3-none-win_amd64.whl"
        );
        let sdist = crate::wheel::SdistFilename {
            name: cfg.name.clone(),
            version: cfg.version.clone(),
        };
        assert_eq!(sdist.to_string(), "mcp_sidecar-1.0.0b1.tar.gz");
    }

    #[test]
    fn bad_names_and_versions_fail_at_load_naming_file_and_key_and_write_nothing() {
        for (case, version, name, wanted) in [
            (
                "empty",
                "0.1.0",
                "",
                "pyproject.toml: [project] name = \"\"",
            ),
            (
                "bang",
                "0.1.0",
                "-bad name!",
                "pyproject.toml: [project] name = \"-bad name!\"",
            ),
            (
                "semver",
                "1.0.0-foo",
                "mcp-sidecar",
                "app/Cargo.toml: the version of package `app`",
            ),
        ] {
            let root = scratch_workspace(case, version, name);
            let before = listing(&root);
            let err = format!("{:#}", Config::load_from(&root).unwrap_err());
            assert!(err.contains(wanted), "{case}: {err}");
            assert_eq!(
                listing(&root),
                before,
                "{case}: loading wrote into the workspace"
            );
        }
        let root = scratch_workspace("key", "0.1.0", "mcp-sidecar");
        let cargo = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        fs::write(
            root.join("Cargo.toml"),
            cargo.replace("native-dir", "nativ-dir"),
        )
        .unwrap();
        let err = format!("{:#}", Config::load_from(&root).unwrap_err());
        let file = root.join("Cargo.toml");
        assert!(
            err.starts_with(&format!("{}: [workspace.metadata.dist]", file.display())),
            "{err}"
        );
        assert!(err.contains("did you mean `native-dir`?"), "{err}");
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
