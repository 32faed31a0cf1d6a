//! The frozen app's run: a scrubbed environment, its `key: value` report, no process left
//! behind, and (one-dir layouts) the bundled sidecar it used.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use xshell::{cmd, Shell};

use super::procs::{leftover_processes, process_alive, MARKER_ENV};
use super::work::{describe, tail, Work};
use super::{Freeze, LEFTOVER_GRACE, PROBE_ANSWER, RUN_TIMEOUT};

impl Freeze {
    /// Runs the frozen app in a scrubbed environment and checks what it printed.
    pub(super) fn run_app(&self, sh: &Shell, work: &mut Work) -> Result<BTreeMap<String, String>> {
        let (app, _) = self.outputs();
        let marker = format!(
            "{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        // No PATH entry or user scheme may hold an mcp-sidecar: only the bundle counts.
        let user_base = work.dir.join("no-user-base");
        let user_base = user_base.to_string_lossy();
        let path = scrubbed_path();
        let mut envs: Vec<(&str, &str)> = vec![
            ("PATH", &path),
            ("PYTHONUSERBASE", &user_base),
            (MARKER_ENV, &marker),
        ];
        let kept: Vec<(&str, String)> = KEPT_ENV
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v)))
            .collect();
        envs.extend(kept.iter().map(|(k, v)| (*k, v.as_str())));
        let run = work.exec("run", cmd!(sh, "{app}").env_clear(), &envs, RUN_TIMEOUT);
        // Scanned whatever happened to the run: a crash or a timeout may leave a sidecar behind.
        let mut leftovers = leftover_processes(&marker, LEFTOVER_GRACE);
        let run = run?;
        let output = parse_output(&run.stdout);
        if let Some(pid) = output
            .get("sidecar pid")
            .and_then(|p| p.parse::<u32>().ok())
        {
            if process_alive(pid) {
                leftovers.push(format!("  {pid} (the sidecar the app reported)"));
            }
        }
        let leftovers = if leftovers.is_empty() {
            String::new()
        } else {
            format!(
                "processes the frozen app started were still running {} s after it exited \
                 (now killed):\n{}",
                LEFTOVER_GRACE.as_secs(),
                leftovers.join("\n")
            )
        };
        if !run.status.success() {
            let meaning = match run.status.code() {
                Some(3) => " (the app could not find the sidecar binary)",
                _ => "",
            };
            // The app's own failure line, and the locator's list of paths that follows it.
            let failure = run
                .stderr
                .find("freeze_app: FAILED")
                .map(|at| tail(&run.stderr[at..], 40))
                .unwrap_or_else(|| tail(&run.stderr, 25));
            let detail = format!(
                "the frozen app exited with {}{meaning}:\n{failure}\n{leftovers}",
                describe(run.status)
            );
            return Err(work.fail("run", detail.trim_end(), &run.logs));
        }
        if !leftovers.is_empty() {
            return Err(work.fail("leftovers", leftovers, &run.logs));
        }
        let expect = |key: &str, want: &str| -> Result<()> {
            match output.get(key) {
                Some(got) if got == want => Ok(()),
                got => Err(work.fail(
                    "run",
                    format!(
                        "the frozen app printed `{key}: {}`, expected `{key}: {want}`",
                        got.map_or("<nothing>", |g| g)
                    ),
                    &run.logs,
                )),
            }
        };
        expect("result", "OK")?;
        expect("tool answer", PROBE_ANSWER)?;
        expect("layout", self.tool().layout(self.mode))?;
        expect("executable", "yes")?;
        expect("sidecar exit", "0")?;
        Ok(output)
    }

    /// One-dir layouts: the sidecar sits in the bundle, executable, and is the one the app used.
    pub(super) fn check_bundle(
        &self,
        work: &Work,
        output: &BTreeMap<String, String>,
    ) -> Result<Option<(PathBuf, Option<u32>)>> {
        let (_, bundled) = self.outputs();
        let logs = work.dir.display().to_string();
        let Some(bundled) = bundled else {
            // One-file: the app reported an executable sidecar in its extraction folder.
            let reported = output.get("binary").map(PathBuf::from).unwrap_or_default();
            if reported.starts_with(self.venv_dir()) || reported.starts_with(&work.dir) {
                return Err(work.fail(
                    "bundle",
                    format!(
                        "the one-file app used {}, not its extraction folder",
                        reported.display()
                    ),
                    &logs,
                ));
            }
            return Ok(None);
        };
        let meta = fs::metadata(&bundled).map_err(|e| {
            work.fail(
                "bundle",
                format!("the bundled sidecar {}: {e}", bundled.display()),
                &logs,
            )
        })?;
        let mode = file_mode(&meta);
        if let Some(mode) = mode.filter(|m| m & 0o111 != 0o111) {
            return Err(work.fail(
                "bundle",
                format!(
                    "the bundled sidecar {} lost its executable bits (mode {mode:o})",
                    bundled.display()
                ),
                &logs,
            ));
        }
        let reported = output.get("binary").map(PathBuf::from).unwrap_or_default();
        if !same_file(&reported, &bundled) {
            return Err(work.fail(
                "bundle",
                format!(
                    "the app used {}, not the bundled {}",
                    reported.display(),
                    bundled.display()
                ),
                &logs,
            ));
        }
        Ok(Some((bundled, mode)))
    }
}

/// Environment the frozen app keeps (temp dirs, locale, Windows essentials); everything else goes.
const KEPT_ENV: &[&str] = &[
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "WINDIR",
    "USERPROFILE",
    "LOCALAPPDATA",
    "APPDATA",
];

fn scrubbed_path() -> String {
    if cfg!(windows) {
        let root = std::env::var("SYSTEMROOT").unwrap_or_else(|_| r"C:\Windows".to_string());
        format!(r"{root}\System32;{root}")
    } else {
        "/usr/bin:/bin".to_string()
    }
}

/// `key: value` lines of the app's stdout; the first of each key wins.
fn parse_output(stdout: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((key, value)) = line.split_once(": ") {
            out.entry(key.trim().to_string())
                .or_insert_with(|| value.trim().to_string());
        }
    }
    out
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(unix)]
fn file_mode(meta: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_meta: &fs::Metadata) -> Option<u32> {
    None // Windows runs any .exe: there is no executable bit to lose
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_apps_key_value_lines() {
        let out = parse_output(
            "binary: /a/b\nlayout: pyinstaller-onedir\ntool answer: x: y\nlayout: other\n",
        );
        assert_eq!(out["binary"], "/a/b");
        assert_eq!(out["layout"], "pyinstaller-onedir");
        assert_eq!(out["tool answer"], "x: y");
    }
}
