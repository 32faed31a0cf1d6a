//! A Python host script serving MCP through the sidecar, as a child process: it prints one JSON
//! line (`{"url": ...}`) once the sidecar is ready and serves until its stdin closes.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The debug sidecar of this workspace, built first.
pub fn build_sidecar(sh: &xshell::Shell) -> Result<PathBuf> {
    xshell::cmd!(sh, "cargo build --package mcp-sidecar").run()?;
    Ok(crate::project_root().join(format!(
        "target/debug/mcp-sidecar{}",
        std::env::consts::EXE_SUFFIX
    )))
}

/// `python script args…` with the package imported from the source tree and `binary` as sidecar.
pub fn python_command(python: &Path, binary: &Path, script: &str, args: &[&str]) -> Command {
    let root = crate::project_root();
    let mut command = Command::new(python);
    command
        .arg(root.join(script))
        .args(args)
        .current_dir(&root)
        .env("MCP_SIDECAR_BINARY", binary)
        .env("PYTHONPATH", root.join("python"))
        .env("PYTHONUNBUFFERED", "1");
    command
}

pub struct Host {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
    pub url: String,
}

#[derive(serde::Deserialize)]
struct Ready {
    url: String,
}

impl Host {
    pub fn start(mut command: Command) -> Result<Host> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning {command:?}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("host stdout")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .context("reading the host's ready line")?;
        let ready: Ready = match serde_json::from_str(line.trim()) {
            Ok(ready) => ready,
            Err(err) => {
                let _ = child.kill();
                let status = child.wait()?;
                bail!("host printed {line:?} instead of its ready line ({err}); exit: {status}");
            }
        };
        Ok(Host {
            child,
            stdin,
            stdout: Some(stdout),
            url: ready.url,
        })
    }

    /// Closes the host's stdin, waits for it to stop its sidecar and exit successfully, and
    /// returns what it printed after its ready line.
    pub fn stop(mut self) -> Result<String> {
        drop(self.stdin.take());
        let reader = self.stdout.take().map(|mut stdout| {
            std::thread::spawn(move || {
                let mut rest = String::new();
                stdout.read_to_string(&mut rest).map(|_| rest)
            })
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the host exited with {status}");
                }
                return match reader.map(|r| r.join()) {
                    Some(Ok(read)) => read.context("reading the host's output"),
                    Some(Err(_)) => bail!("the thread reading the host's output panicked"),
                    None => Ok(String::new()),
                };
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("the host did not exit within 20 s of its stdin closing");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
