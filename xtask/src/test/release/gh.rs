//! `cargo xtask github-release` against a recording `gh` first on PATH (the real one cannot
//! reach GitHub here): the dry run, the draft → upload → publish order, resuming a draft,
//! refusing a published release and a tag that is not the workspace version.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use xshell::Shell;

use super::{dist_dir, output, scratch, text, xtask};
use crate::release_assets::Inventory;

/// Appends each call as one tab-separated argv line; `release view` answers from GH_FAKE_VIEW
/// (or "release not found", as gh says when there is none).
const RECORDING_GH: &str = r#"#!/bin/sh
{ printf 'gh'; for arg in "$@"; do printf '\t%s' "$arg"; done; printf '\n'; } >> "$GH_RECORD_LOG"
if [ "$1" = release ] && [ "$2" = view ]; then
  if [ -n "$GH_FAKE_VIEW" ]; then printf '%s\n' "$GH_FAKE_VIEW"; exit 0; fi
  echo "release not found" >&2
  exit 1
fi
exit 0
"#;

pub fn run(_sh: &Shell) -> Result<()> {
    if cfg!(windows) {
        eprintln!("skipping the recording-gh test: the wrapper is a POSIX shell script");
        return Ok(());
    }
    let version = crate::config::Config::load()?.version;
    let dist = dist_dir();
    let inventory = Inventory::load(&dist, &version)
        .context("dist/ is not a complete release; run the dist suite (cargo xtask dist) first")?;
    let names: Vec<String> = inventory.assets.iter().map(|a| a.name()).collect();
    let tag = format!("v{version}");
    let work = scratch("gh")?;
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin)?;
    install_recorder(&bin.join("gh"))?;
    let log = work.join("gh.log");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let dist_arg = dist.display().to_string();
    let release = |extra: &[&str], fake_view: Option<&str>| -> Result<std::process::Output> {
        let mut args = vec!["github-release", "--dist", dist_arg.as_str()];
        args.extend_from_slice(extra);
        let mut command = xtask(&args)?;
        command
            .env("PATH", &path)
            .env("GH_RECORD_LOG", &log)
            .env_remove("GH_FAKE_VIEW");
        if let Some(view) = fake_view {
            command.env("GH_FAKE_VIEW", view);
        }
        let _ = std::fs::remove_file(&log);
        output(&mut command)
    };

    // Dry run: the exact files, notes with every checksum, and gh never called.
    let out = release(&["--tag", &tag, "--dry-run"], None)?;
    ensure!(
        out.status.success(),
        "github-release --dry-run failed:\n{}",
        text(&out)
    );
    ensure!(!log.exists(), "--dry-run called gh:\n{}", read(&log));
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        listed_assets(&stdout) == names,
        "--dry-run listed {:?}, dist/ holds {names:?}",
        listed_assets(&stdout)
    );
    for (file, sha) in &inventory.sums {
        ensure!(
            stdout.contains(&format!("{sha}  {file}")),
            "dry-run notes lack the checksum of {file}"
        );
    }

    // A fresh release: view (none) → create draft → upload every asset → publish.
    let out = release(&["--tag", &tag], None)?;
    ensure!(
        out.status.success(),
        "github-release failed:\n{}",
        text(&out)
    );
    let seen = calls(&log)?;
    ensure!(
        seen.len() == 4,
        "expected view, create, upload, edit; gh saw:\n{}",
        read(&log)
    );
    ensure!(
        seen[0] == argv(&["release", "view", &tag, "--json", "isDraft"]),
        "first call {:?}",
        seen[0]
    );
    let create = &seen[1];
    let title = format!("mcp-sidecar {version}");
    ensure!(
        create.get(..7)
            == Some(
                &argv(&[
                    "release",
                    "create",
                    &tag,
                    "--draft",
                    "--verify-tag",
                    "--title",
                    &title
                ])[..]
            )
            && create.len() == 9
            && create[7] == "--notes-file",
        "create call {create:?}"
    );
    let notes = std::fs::read_to_string(&create[8])
        .with_context(|| format!("reading notes {}", create[8]))?;
    for (file, sha) in &inventory.sums {
        ensure!(
            notes.contains(&format!("{sha}  {file}")),
            "notes lack the checksum of {file}:\n{notes}"
        );
    }
    let upload = &seen[2];
    ensure!(
        upload.get(..3) == Some(&argv(&["release", "upload", &tag])[..])
            && upload.last().map(String::as_str) == Some("--clobber"),
        "upload call {upload:?}"
    );
    let uploaded: Vec<String> = upload[3..upload.len() - 1]
        .iter()
        .map(|p| {
            Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    ensure!(
        uploaded == names,
        "uploaded {uploaded:?}, dist/ holds {names:?}"
    );
    ensure!(
        seen[3] == argv(&["release", "edit", &tag, "--draft=false"]),
        "last call {:?}",
        seen[3]
    );

    // A draft left by an interrupted run is resumed, not created twice.
    let out = release(&["--tag", &tag], Some(r#"{"isDraft":true}"#))?;
    ensure!(
        out.status.success(),
        "resuming a draft failed:\n{}",
        text(&out)
    );
    let verbs: Vec<String> = calls(&log)?.iter().map(|c| c[1].clone()).collect();
    ensure!(
        verbs == ["view", "upload", "edit"],
        "resuming a draft ran {verbs:?}"
    );

    // A published release is immutable: refuse after looking.
    let out = release(&["--tag", &tag], Some(r#"{"isDraft":false}"#))?;
    ensure!(
        !out.status.success(),
        "re-releasing a published tag succeeded"
    );
    ensure!(
        calls(&log)?.len() == 1,
        "after finding a published release gh was still called:\n{}",
        read(&log)
    );

    // A tag that is not the workspace version never reaches gh.
    let out = release(&["--tag", "v0.0.0-not-this"], None)?;
    ensure!(!out.status.success(), "a mismatched tag was accepted");
    ensure!(
        text(&out).contains(&format!("expected `v{version}`")),
        "unclear refusal:\n{}",
        text(&out)
    );
    ensure!(
        !log.exists(),
        "a mismatched tag still called gh:\n{}",
        read(&log)
    );
    eprintln!("github-release: dry run, create/upload/publish order, resume and refusals ok");
    Ok(())
}

fn install_recorder(path: &Path) -> Result<()> {
    std::fs::write(path, RECORDING_GH).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The recorded calls, each as its argv without the leading `gh`.
fn calls(log: &Path) -> Result<Vec<Vec<String>>> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('\t').skip(1).map(str::to_string).collect())
        .collect())
}

/// The names under `assets (N):` in the dry-run plan.
fn listed_assets(plan: &str) -> Vec<String> {
    plan.lines()
        .skip_while(|l| !l.starts_with("assets ("))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect()
}
