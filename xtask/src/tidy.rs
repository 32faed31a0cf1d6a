//! Tests that keep the repository honest: docs name every command and module, no stray
//! markers, one version everywhere. Conventions checked by code, not remembered.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use clap::CommandFactory;

    use crate::flags::Xtask;
    use crate::project_root;

    fn read(rel: &str) -> String {
        let path = project_root().join(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "dist" | "__pycache__" | ".git") {
                    files_under(&path, ext, out);
                }
            } else if name.ends_with(ext) {
                out.push(path);
            }
        }
    }

    #[test]
    fn readme_documents_every_xtask_command() {
        let readme = read("README.md");
        for sub in Xtask::command().get_subcommands() {
            let name = sub.get_name();
            assert!(
                readme.contains(&format!("cargo xtask {name}")),
                "README.md does not document `cargo xtask {name}`"
            );
        }
    }

    #[test]
    fn every_flag_has_help_and_the_readme_shows_the_release_dir_flag() {
        let readme = read("README.md");
        for sub in Xtask::command().get_subcommands() {
            let name = sub.get_name();
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                assert!(
                    arg.get_help().is_some() || !arg.get_possible_values().is_empty(),
                    "`cargo xtask {name} --{}` has no help text",
                    arg.get_id()
                );
                if arg.get_long() == Some("dist") {
                    let row = readme
                        .lines()
                        .find(|l| l.starts_with(&format!("| `cargo xtask {name} ")));
                    assert!(
                        row.is_some_and(|r| r.contains("--dist DIR")),
                        "README's row for `cargo xtask {name}` lacks `[--dist DIR]`"
                    );
                }
            }
        }
    }

    #[test]
    fn architecture_names_every_xtask_module() {
        let arch = read("ARCHITECTURE.md");
        let mut files = Vec::new();
        files_under(&project_root().join("xtask/src"), ".rs", &mut files);
        for file in files {
            let rel = file.strip_prefix(project_root().join("xtask/src")).unwrap();
            // A module is named by its file (`dist.rs`) or its folder (`check/`).
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let named = if rel.components().count() > 1 {
                format!("{top}/")
            } else {
                top.to_string()
            };
            if named == "tidy.rs" {
                continue;
            }
            assert!(
                arch.contains(&format!("`{named}`")) || arch.contains(&format!("`{named}")),
                "ARCHITECTURE.md does not mention xtask/src/{named}"
            );
        }
    }

    #[test]
    fn no_stray_markers_in_sources() {
        let mut files = Vec::new();
        for (dir, ext) in [
            ("xtask/src", ".rs"),
            ("crates", ".rs"),
            ("python/mcp_sidecar", ".py"),
            ("scripts", ".py"),
        ] {
            files_under(&project_root().join(dir), ext, &mut files);
        }
        // Spelled in two halves so this file does not flag itself.
        let markers = [
            concat!("TO", "DO"),
            concat!("FIX", "ME"),
            concat!("XX", "X:"),
        ];
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            for marker in markers {
                assert!(
                    !text.contains(marker),
                    "{} contains {marker}: finish it or file an issue",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn one_version_everywhere() {
        let cargo: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
        let version = cargo["workspace"]["package"]["version"].as_str().unwrap();
        let pyproject: toml::Table = toml::from_str(&read("pyproject.toml")).unwrap();
        let dynamic = pyproject["project"]["dynamic"].as_array().unwrap();
        assert!(
            dynamic.iter().any(|v| v.as_str() == Some("version")),
            "pyproject.toml must take its version from Cargo.toml (dynamic)"
        );
        assert!(
            pyproject["project"].get("version").is_none(),
            "pyproject.toml must not pin its own version"
        );
        let fallback = read("python/mcp_sidecar/_version.py");
        assert!(
            fallback.contains(&format!("\"{version}\"")),
            "python/mcp_sidecar/_version.py must say {version}"
        );
    }
}
