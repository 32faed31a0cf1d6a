//! A Python host script serving MCP through the sidecar, as a child process: it prints one JSON
//! line (`{"url": ...}`) once the sidecar is ready and serves until its stdin closes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
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
        let mut line = String::new();
        BufReader::new(stdout)
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
            url: ready.url,
        })
    }

    /// Closes the host's stdin and waits for it to stop its sidecar and exit successfully.
    pub fn stop(mut self) -> Result<()> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the host exited with {status}");
                }
                return Ok(());
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
