//! One freeze's work dir and its steps: every command runs with a timeout, its stdout/stderr in
//! `<nn>-<step>.out|.err`, and a failure names the step and those files.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use xshell::Cmd;

use super::procs::{kill_tree, new_process_group};

/// A step that broke: which one, why, and where its logs are. The suite matches on it.
#[derive(Debug, thiserror::Error)]
#[error("freeze-check {label}: step `{step}` failed: {detail}\n  logs: {logs}")]
pub struct StepFailed {
    pub label: String,
    pub step: &'static str,
    pub detail: String,
    pub logs: String,
}

/// Where one freeze writes, and how long each of its steps took.
pub struct Work {
    pub dir: PathBuf,
    pub label: String,
    seq: usize,
    pub timings: Vec<(&'static str, Duration)>,
}

/// A command that ran to its end (a timeout is an error instead).
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub logs: String,
}

impl Work {
    /// Starts from an empty `dir`: logs of an earlier run must not be mistaken for this one's.
    pub fn create(dir: PathBuf, label: String) -> Result<Work> {
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Work {
            dir,
            label,
            seq: 0,
            timings: Vec::new(),
        })
    }

    pub fn fail(&self, step: &'static str, detail: impl Into<String>, logs: &str) -> anyhow::Error {
        StepFailed {
            label: self.label.clone(),
            step,
            detail: detail.into(),
            logs: logs.to_string(),
        }
        .into()
    }

    /// Runs `cmd` (plus `envs`) with its output in the step's log files, killed after `timeout`.
    pub fn exec(
        &mut self,
        step: &'static str,
        cmd: Cmd<'_>,
        envs: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Finished> {
        self.seq += 1;
        let stem = self.dir.join(format!("{:02}-{step}", self.seq));
        let (out_path, err_path) = (stem.with_extension("out"), stem.with_extension("err"));
        let logs = format!("{}, {}", out_path.display(), err_path.display());
        eprintln!("==> freeze-check {}: {step}: {cmd}", self.label);
        let create =
            |p: &Path| File::create(p).with_context(|| format!("creating {}", p.display()));
        // xshell has no timeout: its command runs through std, output into the step's log files.
        let mut command = Command::from(cmd);
        // Only the installed wheel counts: no source tree on sys.path, no binary override.
        command
            .env_remove("PYTHONPATH")
            .env_remove("MCP_SIDECAR_BINARY")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(create(&out_path)?)
            .stderr(create(&err_path)?);
        new_process_group(&mut command);
        let start = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| self.fail(step, format!("could not start {command:?}: {e}"), &logs))?;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if start.elapsed() > timeout {
                kill_tree(&mut child);
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.timings.push((step, start.elapsed()));
        let Some(status) = status else {
            let detail = format!("timed out after {} s and was killed", timeout.as_secs());
            return Err(self.fail(step, detail, &logs));
        };
        let read = |p: &Path| {
            fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .with_context(|| format!("reading {}", p.display()))
        };
        Ok(Finished {
            status,
            stdout: read(&out_path)?,
            stderr: read(&err_path)?,
            logs,
        })
    }

    /// `exec`, failing the step on a non-zero exit with the end of its stderr.
    pub fn exec_ok(
        &mut self,
        step: &'static str,
        cmd: Cmd<'_>,
        timeout: Duration,
    ) -> Result<Finished> {
        let finished = self.exec(step, cmd, &[], timeout)?;
        if finished.status.success() {
            return Ok(finished);
        }
        let detail = format!(
            "exited with {}; last lines of stderr:\n{}",
            describe(finished.status),
            tail(&finished.stderr, 25)
        );
        Err(self.fail(step, detail, &finished.logs))
    }
}

pub fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("status {code}"),
        None => status.to_string(),
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_step_past_its_timeout_is_killed_and_named() {
        let dir = std::env::temp_dir().join(format!("freeze-check-work-{}", std::process::id()));
        let mut work = Work::create(dir.clone(), "unit".to_string()).unwrap();
        let sh = xshell::Shell::new().unwrap();
        let start = Instant::now();
        let err = work
            .exec_ok(
                "nap",
                xshell::cmd!(sh, "sleep 30"),
                Duration::from_millis(200),
            )
            .err()
            .unwrap();
        let failed = err.downcast_ref::<StepFailed>().unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(failed.step, "nap");
        assert!(failed.detail.contains("timed out"), "{}", failed.detail);
        assert!(failed.logs.contains("01-nap.out"), "{}", failed.logs);
        let ok = work.exec_ok("echo", xshell::cmd!(sh, "echo hi"), Duration::from_secs(10));
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(ok.unwrap().stdout, "hi\n");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }
}
