//! `cargo xtask github-release`: the GitHub Release for a version tag, with the `gh` CLI. It is
//! created as a draft, given exactly the files in `dist/`, then published: immutable releases
//! refuse uploads once published, so nothing is attached after that step.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::artifact::{Artifact, ArtifactKind};
use crate::config::Config;
use crate::flags;
use crate::release_assets::Inventory;
use crate::util::{human_size, shell_quote};
use crate::verify_release::{members, Container};
use crate::wheel::{Arch, PlatformTag};

/// What GitHub already holds for the tag (a rerun resumes a draft, never touches a release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Absent,
    Draft,
    Published,
}

impl flags::GithubRelease {
    pub fn run(self, sh: &Shell, cfg: &Config) -> Result<()> {
        let version = cfg.version.to_string();
        check_tag(&self.tag, &version)?;
        let inventory = crate::release_gate::open(&self.dist, cfg, self.allow_partial)?;
        let notes = render_notes(&version, &inventory);
        let notes_file = crate::project_root()
            .join("target/github-release")
            .join(format!("notes-{}.md", self.tag));
        crate::atomic::write(&notes_file, notes.as_bytes())?;
        let title = format!("mcp-sidecar {version}");
        let mut assets: Vec<PathBuf> = inventory.assets.iter().map(|a| a.path.clone()).collect();
        // Written in the dry run too: the workflow attests them before the real run uploads them.
        assets.extend(write_sboms(
            &inventory,
            &crate::project_root().join(SBOM_DIR),
        )?);

        if self.dry_run {
            let commands = gh_commands(&self.tag, &title, &notes_file, &assets, Existing::Absent)?;
            print!("{}", render_plan(&self.tag, &assets, &notes, &commands));
            return Ok(());
        }
        let existing = existing_release(sh, &self.tag)?;
        for argv in gh_commands(&self.tag, &title, &notes_file, &assets, existing)? {
            let args = &argv;
            cmd!(sh, "gh {args...}")
                .run()
                .with_context(|| format!("gh {}", argv.first().map_or("", String::as_str)))?;
        }
        eprintln!("==> released {} with {} assets", self.tag, assets.len());
        Ok(())
    }
}

/// The PEP 770 SBOMs inside a wheel: `<dist-info>/sboms/*.cdx.json`, name and bytes.
fn wheel_sboms(wheel: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    for member in members(Container::Zip, wheel)? {
        let mut parts = member.name.split('/');
        let in_sboms = matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some(top), Some("sboms"), Some(name), None)
                if top.ends_with(".dist-info") && name.ends_with(".cdx.json")
        );
        if in_sboms {
            let bytes = member
                .bytes
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("reading {}", member.name))?;
            found.push((member.name, bytes));
        }
    }
    if found.is_empty() {
        bail!("no <dist-info>/sboms/*.cdx.json inside");
    }
    Ok(found)
}

/// Where each wheel's SBOM becomes a release asset of its own (`<wheel stem>.cdx.json`).
pub const SBOM_DIR: &str = "target/github-release/sboms";

/// Each wheel's PEP 770 SBOM, taken out of the wheel into `dir` (emptied first), as
/// `<wheel stem>.cdx.json`, or `<wheel stem>.<sbom name>` when a wheel carries several.
pub fn write_sboms(inventory: &Inventory, dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    let mut written = Vec::new();
    for asset in inventory.distributions() {
        let ArtifactKind::Wheel(_) = &asset.kind else {
            continue;
        };
        let name = asset.name();
        let bytes = std::fs::read(&asset.path).with_context(|| format!("reading {name}"))?;
        let sboms = wheel_sboms(&bytes).with_context(|| format!("{name}: no SBOM to release"))?;
        let stem = name.trim_end_matches(".whl");
        let several = sboms.len() > 1;
        for (member, bytes) in sboms {
            let file = match member.rsplit('/').next() {
                Some(sbom) if several => format!("{stem}.{sbom}"),
                _ => format!("{stem}.cdx.json"),
            };
            let path = dir.join(file);
            crate::atomic::write(&path, &bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The tag must name the workspace version exactly (`v0.1.0` for 0.1.0).
pub fn check_tag(tag: &str, version: &str) -> Result<()> {
    ensure!(
        tag == format!("v{version}"),
        "tag `{tag}` does not match the workspace version {version}: expected `v{version}` \
         (bump [workspace.package] version in Cargo.toml or tag the right commit)"
    );
    Ok(())
}

/// The `gh` argv lists, in order: create as draft, upload every asset, publish.
pub fn gh_commands(
    tag: &str,
    title: &str,
    notes_file: &Path,
    assets: &[PathBuf],
    existing: Existing,
) -> Result<Vec<Vec<String>>> {
    let notes = notes_file.display().to_string();
    let mut commands = Vec::new();
    match existing {
        Existing::Published => bail!(
            "release {tag} is already published; published releases are immutable, \
             so bump the version instead of re-releasing"
        ),
        // A draft left by an interrupted run: re-upload (--clobber) and publish it.
        Existing::Draft => {}
        Existing::Absent => commands.push(strings(&[
            "release",
            "create",
            tag,
            "--draft",
            "--verify-tag",
            "--title",
            title,
            "--notes-file",
            &notes,
        ])),
    }
    let mut upload = strings(&["release", "upload", tag]);
    upload.extend(assets.iter().map(|p| p.display().to_string()));
    upload.push("--clobber".into());
    commands.push(upload);
    commands.push(strings(&["release", "edit", tag, "--draft=false"]));
    Ok(commands)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// What GitHub holds for the tag, judged from gh's exit status and JSON alone. `release view`
/// exits non-zero both when there is no such release and on any other failure, so a failed
/// view is settled by `release list` (drafts included), which must itself succeed.
fn existing_release(sh: &Shell, tag: &str) -> Result<Existing> {
    let view = cmd!(sh, "gh release view {tag} --json tagName,isDraft")
        .quiet()
        .ignore_status()
        .output()
        .context("running `gh release view` (is the `gh` CLI installed?)")?;
    if view.status.success() {
        let release: GhRelease = parse_json(&view.stdout, "gh release view")?;
        ensure!(
            release.tag_name == tag,
            "`gh release view {tag}` answered for tag {}",
            release.tag_name
        );
        return Ok(release.state());
    }
    let list = cmd!(sh, "gh release list --json tagName,isDraft --limit 1000")
        .quiet()
        .output()
        .with_context(|| {
            format!(
                "`gh release view {tag}` failed ({}), and so did `gh release list`",
                String::from_utf8_lossy(&view.stderr).trim()
            )
        })?;
    let releases: Vec<GhRelease> = parse_json(&list.stdout, "gh release list")?;
    Ok(state_of(tag, &releases))
}

/// One release as `gh release view/list --json tagName,isDraft` prints it.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GhRelease {
    tag_name: String,
    is_draft: bool,
}

impl GhRelease {
    fn state(&self) -> Existing {
        if self.is_draft {
            Existing::Draft
        } else {
            Existing::Published
        }
    }
}

fn state_of(tag: &str, releases: &[GhRelease]) -> Existing {
    releases
        .iter()
        .find(|r| r.tag_name == tag)
        .map_or(Existing::Absent, GhRelease::state)
}

fn parse_json<T: serde::de::DeserializeOwned>(stdout: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(stdout).with_context(|| {
        format!(
            "parsing the JSON `{what}` printed: `{}`",
            String::from_utf8_lossy(stdout).trim()
        )
    })
}

/// Release notes: version, how to install, the platform table and the checksums, verbatim.
pub fn render_notes(version: &str, inventory: &Inventory) -> String {
    let mut notes = String::new();
    let _ = writeln!(notes, "# mcp-sidecar {version}\n");
    let _ = writeln!(notes, "```sh\npip install mcp-sidecar=={version}\n```\n");
    if let Some(commit) = &inventory.manifest.commit {
        let _ = writeln!(notes, "Built from commit `{commit}`.\n");
    }
    let _ = writeln!(notes, "| platform | target | file | size |");
    let _ = writeln!(notes, "|---|---|---|---|");
    for artifact in &inventory.manifest.artifacts {
        let asset = inventory
            .assets
            .iter()
            .find(|a| a.name() == artifact.file());
        let platform = asset.map_or_else(|| "?".to_string(), platform_label);
        let target = artifact
            .target
            .as_deref()
            .map_or_else(|| "—".to_string(), |t| format!("`{t}`"));
        let _ = writeln!(
            notes,
            "| {platform} | {target} | `{}` | {} |",
            artifact.file(),
            human_size(artifact.size)
        );
    }
    let _ = writeln!(
        notes,
        "\nVerify downloads with `sha256sum -c SHA256SUMS`:\n"
    );
    let _ = writeln!(
        notes,
        "```text\n{}```",
        ensure_newline(&inventory.sums_text)
    );
    notes
}

fn ensure_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// A reader's name for what a file runs on, from its wheel tag.
fn platform_label(asset: &Artifact) -> String {
    let ArtifactKind::Wheel(wheel) = &asset.kind else {
        return "source (builds the sidecar with Rust)".to_string();
    };
    let Some(tag) = wheel.platforms().first().cloned() else {
        return wheel.tags.platform.to_string();
    };
    match tag {
        PlatformTag::Manylinux { glibc, arch, .. } => {
            format!("Linux {}, glibc {glibc}+", arch.triple_name())
        }
        PlatformTag::Macos {
            version,
            arch: Arch::Aarch64,
        } => format!("macOS {version}+, Apple Silicon"),
        PlatformTag::Macos { version, .. } => format!("macOS {version}+, Intel"),
        PlatformTag::Windows { arch: Arch::X86_64 } => "Windows x64".to_string(),
        PlatformTag::Windows { arch } => format!("Windows {}", arch.triple_name()),
        PlatformTag::Linux { arch } => format!("Linux {}", arch.triple_name()),
        other => other.to_string(),
    }
}

/// What `--dry-run` prints: the assets, the notes and the exact `gh` commands.
pub fn render_plan(tag: &str, assets: &[PathBuf], notes: &str, commands: &[Vec<String>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "GitHub Release {tag} (dry run: gh is not called)\n");
    let _ = writeln!(out, "assets ({}):", assets.len());
    for asset in assets {
        let name = asset.file_name().unwrap_or(asset.as_os_str());
        let _ = writeln!(out, "  {}", name.to_string_lossy());
    }
    let _ = writeln!(out, "\nnotes:\n{notes}");
    let _ = writeln!(out, "commands:");
    for argv in commands {
        let shown: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
        let _ = writeln!(out, "  gh {}", shown.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release_assets::fixture::fake_inventory;

    fn argv(words: &[&str]) -> Vec<String> {
        strings(words)
    }

    #[test]
    fn the_tag_must_be_the_workspace_version() {
        assert!(check_tag("v1.2.3", "1.2.3").is_ok());
        for bad in ["1.2.3", "v1.2.4", "v1.2.3-rc1", "release-1.2.3"] {
            let err = check_tag(bad, "1.2.3").unwrap_err().to_string();
            assert!(
                err.contains(&format!("tag `{bad}`")) && err.contains("expected `v1.2.3`"),
                "{err}"
            );
        }
    }

    #[test]
    fn draft_then_upload_then_publish() {
        let assets = vec![
            PathBuf::from("dist/a.whl"),
            PathBuf::from("dist/SHA256SUMS"),
        ];
        let notes = Path::new("notes.md");
        let fresh = gh_commands(
            "v1.0.0",
            "mcp-sidecar 1.0.0",
            notes,
            &assets,
            Existing::Absent,
        )
        .unwrap();
        assert_eq!(
            fresh,
            vec![
                argv(&[
                    "release",
                    "create",
                    "v1.0.0",
                    "--draft",
                    "--verify-tag",
                    "--title",
                    "mcp-sidecar 1.0.0",
                    "--notes-file",
                    "notes.md"
                ]),
                argv(&[
                    "release",
                    "upload",
                    "v1.0.0",
                    "dist/a.whl",
                    "dist/SHA256SUMS",
                    "--clobber"
                ]),
                argv(&["release", "edit", "v1.0.0", "--draft=false"]),
            ]
        );
        let resumed = gh_commands("v1.0.0", "t", notes, &assets, Existing::Draft).unwrap();
        assert_eq!(resumed, fresh[1..].to_vec());
        let err = gh_commands("v1.0.0", "t", notes, &assets, Existing::Published).unwrap_err();
        assert!(err.to_string().contains("immutable"), "{err}");
    }

    #[test]
    fn gh_json_decides_what_exists() {
        let view: GhRelease =
            parse_json(br#"{"isDraft":true,"tagName":"v1.0.0"}"#, "view").unwrap();
        assert_eq!(view.state(), Existing::Draft);
        let list: Vec<GhRelease> = parse_json(
            br#"[{"isDraft":false,"tagName":"v0.9.0"},{"isDraft":true,"tagName":"v1.0.0"}]"#,
            "list",
        )
        .unwrap();
        assert_eq!(state_of("v1.0.0", &list), Existing::Draft);
        assert_eq!(state_of("v0.9.0", &list), Existing::Published);
        assert_eq!(state_of("v2.0.0", &list), Existing::Absent);
        assert_eq!(state_of("v2.0.0", &[]), Existing::Absent);
        assert!(parse_json::<GhRelease>(b"{}", "view").is_err());
        assert!(parse_json::<Vec<GhRelease>>(b"release not found", "list").is_err());
    }

    #[test]
    fn notes_carry_version_platforms_and_every_checksum() {
        let inventory = fake_inventory("notes", "2.0.0");
        let notes = render_notes("2.0.0", &inventory);
        assert!(notes.starts_with("# mcp-sidecar 2.0.0\n"), "{notes}");
        assert!(notes.contains("pip install mcp-sidecar==2.0.0"));
        assert!(notes.contains("commit `0123abcd`"));
        for label in [
            "Linux x86_64, glibc 2.17+",
            "macOS 10.12+, Intel",
            "macOS 11.0+, Apple Silicon",
            "Windows x64",
            "source",
        ] {
            assert!(notes.contains(label), "notes lack `{label}`:\n{notes}");
        }
        for (file, sha) in &inventory.sums {
            assert!(
                notes.contains(&format!("{sha}  {file}")),
                "notes lack the checksum of {file}"
            );
            assert!(
                notes.contains(&format!("`{file}`")),
                "the table lacks {file}"
            );
        }
        // The checksum block is SHA256SUMS verbatim, so readers can paste it into sha256sum -c.
        assert!(notes.contains(&format!("```text\n{}```", inventory.sums_text)));
    }

    #[test]
    fn the_dry_run_plan_lists_exactly_the_assets() {
        let inventory = fake_inventory("plan", "2.0.0");
        let paths: Vec<PathBuf> = inventory.assets.iter().map(|a| a.path.clone()).collect();
        let commands =
            gh_commands("v2.0.0", "t", Path::new("n.md"), &paths, Existing::Absent).unwrap();
        let plan = render_plan("v2.0.0", &paths, "NOTES", &commands);
        let listed: Vec<&str> = plan
            .lines()
            .skip_while(|l| !l.starts_with("assets ("))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(str::trim)
            .collect();
        let names: Vec<String> = inventory.assets.iter().map(|a| a.name()).collect();
        assert_eq!(listed, names);
        assert!(plan.contains("assets (7):"));
        // Each command line, pasted into a shell, is exactly the argv gh gets.
        let shown: Vec<Vec<String>> = plan
            .lines()
            .filter_map(|l| l.strip_prefix("  gh "))
            .map(|l| shlex::split(l).unwrap())
            .collect();
        assert_eq!(shown, commands);
    }
}
