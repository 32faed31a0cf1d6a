//! `cargo xtask github-release` against a fake `gh` first on PATH that keeps releases in a folder
//! and answers with gh's exit statuses and JSON (the real one cannot reach GitHub here): the dry
//! run, the draft → upload → publish order (every file plus each wheel's SBOM), resuming a
//! draft, refusing a published release, a logged-out gh, a tag that is not the workspace
//! version, and a partial release (refused, or announced with `--allow-partial`).

use std::path::Path;

use anyhow::{ensure, Context, Result};

use super::{dist_dir, output, partial_copy, scratch, text, wheel_of, xtask};
use crate::config::Config;
use crate::release_assets::Inventory;

/// Behaves like `gh release …` over a folder of releases (`$GH_FAKE_STATE/<tag>` holds its
/// isDraft, `true` or `false`): exit status 1 and a message on stderr for a missing release, an
/// existing tag or a published (immutable) release; `--json` prints exactly the fields asked
/// for. `GH_FAKE_LOGGED_OUT` makes every call fail as gh does without credentials (status 4).
/// Each call is appended to `$GH_RECORD_LOG` as one tab-separated argv line.
const FAKE_GH: &str = r#"#!/bin/sh
{ printf 'gh'; for arg in "$@"; do printf '\t%s' "$arg"; done; printf '\n'; } >> "$GH_RECORD_LOG"
if [ -n "$GH_FAKE_LOGGED_OUT" ]; then
  echo "To get started with GitHub CLI, please run:  gh auth login" >&2; exit 4
fi
[ "$1" = release ] || { echo "unknown command \"$1\" for \"gh\"" >&2; exit 1; }
verb=$2; shift 2
state=$GH_FAKE_STATE
fields=; prev=
for arg in "$@"; do [ "$prev" = --json ] && fields=$arg; prev=$arg; done
release_json() {
  out=; sep=
  for f in $(echo "$fields" | tr ',' ' '); do
    case $f in
      tagName) v="\"$1\"" ;;
      isDraft) v=$(cat "$state/$1") ;;
      *) echo "Unknown JSON field: \"$f\"" >&2; exit 1 ;;
    esac
    out="$out$sep\"$f\":$v"; sep=,
  done
  printf '{%s}' "$out"
}
exists() { [ -f "$state/$1" ] || { echo "release not found" >&2; exit 1; }; }
case $verb in
  view) exists "$1"; release_json "$1"; echo ;;
  list)
    printf '['; sep=
    for file in "$state"/*; do
      [ -f "$file" ] || continue
      printf '%s' "$sep"; release_json "$(basename "$file")"; sep=,
    done
    echo ']' ;;
  create)
    [ -f "$state/$1" ] && { echo "a release with the same tag name already exists: $1" >&2; exit 1; }
    case " $* " in *" --draft "*) echo true ;; *) echo false ;; esac > "$state/$1" ;;
  upload)
    exists "$1"
    [ "$(cat "$state/$1")" = true ] || { echo "HTTP 422: Cannot upload assets to an immutable release." >&2; exit 1; } ;;
  edit)
    exists "$1"
    case " $* " in *" --draft=false "*) echo false > "$state/$1" ;; esac ;;
  *) echo "unknown command \"$verb\" for \"gh release\"" >&2; exit 1 ;;
esac
"#;

pub fn run(cfg: &Config) -> Result<()> {
    if cfg!(windows) {
        return crate::test::skip("release/gh", "the fake gh is a POSIX shell script");
    }
    let version = &cfg.version;
    let dist = dist_dir();
    let inventory = Inventory::load(&dist, version)
        .context("dist/ is not a complete release; run the dist suite (cargo xtask dist) first")?;
    let mut names: Vec<String> = inventory.assets.iter().map(|a| a.name()).collect();
    let sboms: Vec<String> = inventory
        .distributions()
        .filter(|a| a.kind.wheel().is_some())
        .map(|a| format!("{}.cdx.json", a.name().trim_end_matches(".whl")))
        .collect();
    names.extend(sboms.iter().cloned());
    let tag = format!("v{version}");
    let work = scratch("gh")?;
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin)?;
    install_fake(&bin.join("gh"))?;
    let log = work.join("gh.log");
    let state = work.join("releases");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    // Runs github-release over `dist` against GitHub holding `before` for the tag (its isDraft).
    let release_of = |dist: &Path, extra: &[&str], before: Gh| -> Result<std::process::Output> {
        let dist_arg = dist.display().to_string();
        let mut args = vec!["github-release", "--dist", dist_arg.as_str()];
        args.extend_from_slice(extra);
        let mut command = xtask(&args)?;
        command
            .env("PATH", &path)
            .env("GH_RECORD_LOG", &log)
            .env("GH_FAKE_STATE", &state)
            .env_remove("GH_FAKE_LOGGED_OUT");
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state)?;
        // An older release always exists: "absent" must mean "not this tag".
        std::fs::write(state.join("v0.0.1"), "false\n")?;
        match before {
            Gh::Absent => {}
            Gh::Draft => std::fs::write(state.join(&tag), "true\n")?,
            Gh::Published => std::fs::write(state.join(&tag), "false\n")?,
            Gh::LoggedOut => {
                command.env("GH_FAKE_LOGGED_OUT", "1");
            }
        }
        output(&mut command)
    };
    let release = |extra: &[&str], before: Gh| release_of(&dist, extra, before);
    let draft_after = || read(&state.join(&tag)).trim().to_string();

    // Dry run: the exact files, notes with every checksum, and gh never called.
    let out = release(&["--tag", &tag, "--dry-run"], Gh::Absent)?;
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

    // A fresh release: view fails, list lacks the tag → create draft → upload → publish.
    let out = release(&["--tag", &tag], Gh::Absent)?;
    ensure!(
        out.status.success(),
        "github-release failed:\n{}",
        text(&out)
    );
    let seen = calls(&log)?;
    let verbs: Vec<&str> = seen.iter().map(|c| c[1].as_str()).collect();
    ensure!(
        verbs == ["view", "list", "create", "upload", "edit"],
        "expected view, list, create, upload, edit; gh saw:\n{}",
        read(&log)
    );
    ensure!(
        draft_after() == "false",
        "after the run the release is not published (isDraft {:?})",
        draft_after()
    );
    let create = &seen[2];
    let title = format!("mcp-sidecar {version}");
    let notes_file = create.last().map_or("", String::as_str);
    let expected = [
        "release",
        "create",
        &tag,
        "--draft",
        "--verify-tag",
        "--title",
        &title,
    ];
    ensure!(
        create[..] == argv(&[&expected[..], &["--notes-file", notes_file]].concat())[..],
        "create call {create:?}"
    );
    let notes = std::fs::read_to_string(notes_file)
        .with_context(|| format!("reading notes {notes_file}"))?;
    for (file, sha) in &inventory.sums {
        ensure!(
            notes.contains(&format!("{sha}  {file}")),
            "notes lack the checksum of {file}:\n{notes}"
        );
    }
    let upload = &seen[3];
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
        "uploaded {uploaded:?}, expected dist/ and the SBOMs: {names:?}"
    );
    for (sbom, path) in sboms.iter().zip(&upload[3 + inventory.assets.len()..]) {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)
            .with_context(|| format!("the uploaded SBOM {sbom} is not JSON"))?;
        ensure!(
            json["bomFormat"] == "CycloneDX",
            "the uploaded {sbom} is not a CycloneDX SBOM"
        );
    }

    // A draft left by an interrupted run is resumed, not created twice.
    let out = release(&["--tag", &tag], Gh::Draft)?;
    ensure!(
        out.status.success(),
        "resuming a draft failed:\n{}",
        text(&out)
    );
    let verbs: Vec<String> = calls(&log)?.iter().map(|c| c[1].clone()).collect();
    ensure!(
        verbs == ["view", "upload", "edit"] && draft_after() == "false",
        "resuming a draft ran {verbs:?} and left isDraft {:?}",
        draft_after()
    );

    // A published release is immutable: refuse after looking.
    let out = release(&["--tag", &tag], Gh::Published)?;
    ensure!(
        !out.status.success() && text(&out).contains("immutable"),
        "re-releasing a published tag did not refuse:\n{}",
        text(&out)
    );
    ensure!(
        calls(&log)?.len() == 1,
        "after finding a published release gh was still called:\n{}",
        read(&log)
    );

    // gh failing for another reason (no credentials) is not "no release": nothing is created.
    let out = release(&["--tag", &tag], Gh::LoggedOut)?;
    let verbs: Vec<String> = calls(&log)?.iter().map(|c| c[1].clone()).collect();
    ensure!(
        !out.status.success() && verbs == ["view", "list"],
        "with gh logged out github-release ran {verbs:?}:\n{}",
        text(&out)
    );
    ensure!(
        text(&out).contains("gh auth login"),
        "the refusal does not pass on gh's reason:\n{}",
        text(&out)
    );

    // A tag that is not the workspace version never reaches gh.
    let out = release(&["--tag", "v0.0.0-not-this"], Gh::Absent)?;
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
    // A partial release is refused before gh is called, unless --allow-partial.
    let (wheel, target) = wheel_of(&dist, cfg)?;
    let partial = partial_copy(&dist, &work.join("dist-partial"), &wheel)?;
    let missing = format!("the wheel for {target}");
    let out = release_of(&partial, &["--tag", &tag], Gh::Absent)?;
    ensure!(
        !out.status.success()
            && text(&out).contains("partial release")
            && text(&out).contains(&missing),
        "a release lacking {target} was not refused by name:\n{}",
        text(&out)
    );
    ensure!(
        !log.exists(),
        "a partial release still called gh:\n{}",
        read(&log)
    );
    let out = release_of(&partial, &["--tag", &tag, "--allow-partial"], Gh::Absent)?;
    ensure!(
        out.status.success() && text(&out).contains(&missing),
        "--allow-partial did not go on saying {missing}:\n{}",
        text(&out)
    );
    let uploaded = calls(&log)?
        .iter()
        .find(|c| c[1] == "upload")
        .map_or(0, Vec::len);
    ensure!(
        uploaded == 3 + names.len() - 2 + 1,
        "--allow-partial uploaded {uploaded} words, expected every asset but {wheel} and its SBOM"
    );
    eprintln!(
        "github-release: dry run, create/upload/publish with SBOMs, resume, logged out, refusals and partial ok"
    );
    Ok(())
}

/// What the fake GitHub holds for the tag before a run.
#[derive(Clone, Copy)]
enum Gh {
    Absent,
    Draft,
    Published,
    LoggedOut,
}

fn install_fake(path: &Path) -> Result<()> {
    std::fs::write(path, FAKE_GH).with_context(|| format!("writing {}", path.display()))?;
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
