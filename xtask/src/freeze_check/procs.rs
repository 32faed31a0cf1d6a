//! The frozen app's processes: its own process group (so a timeout kills a one-file bootloader and
//! its child together), and the scan for anything it left running.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every process the frozen app starts inherits this variable: that is how leftovers are found.
pub const MARKER_ENV: &str = "MCP_SIDECAR_FREEZE_CHECK";

#[cfg(unix)]
pub fn new_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // A timeout then kills the whole group (a one-file bootloader and its child).
    command.process_group(0);
}

#[cfg(not(unix))]
pub fn new_process_group(_command: &mut Command) {}

pub fn kill_tree(child: &mut std::process::Child) {
    if cfg!(unix) {
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    } else {
        let pid = child.id().to_string();
        let _ = Command::new("taskkill")
            .args(["/F", "/T", "/PID", &pid])
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Processes still carrying `MARKER_ENV=marker` after a grace period; they are killed and
/// listed as `pid cmdline`. Linux reads /proc; elsewhere the reported sidecar pid is checked.
pub fn leftover_processes(marker: &str, grace: Duration) -> Vec<String> {
    let deadline = Instant::now() + grace;
    loop {
        let found = marked_processes(marker);
        if found.is_empty() {
            return Vec::new();
        }
        if Instant::now() >= deadline {
            for (pid, _) in &found {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            return found
                .into_iter()
                .map(|(pid, cmdline)| format!("  {pid} {cmdline}"))
                .collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(target_os = "linux")]
fn marked_processes(marker: &str) -> Vec<(u32, String)> {
    let needle = format!("{MARKER_ENV}={marker}");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Unreadable (another user's) or already gone: not ours.
        let Ok(environ) = fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, cmdline.trim().to_string()));
        }
    }
    found
}

#[cfg(not(target_os = "linux"))]
fn marked_processes(_marker: &str) -> Vec<(u32, String)> {
    Vec::new()
}

pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        // A zombie is dead for our purposes: it holds no port, no file, no CPU.
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                !stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
    } else if cfg!(windows) {
        Command::new("tasklist")
            .args(["/FI", &format!("PID eq {pid}"), "/NH"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(&pid.to_string()))
            .unwrap_or(false)
    } else {
        Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn leftover_scan_finds_and_kills_marked_processes() {
        let marker = format!("unit-test-{}", std::process::id());
        let mut child = Command::new("sleep")
            .arg("30")
            .env(MARKER_ENV, &marker)
            .spawn()
            .unwrap();
        // Until the child has exec'd, /proc shows the parent's environment (no marker) and the
        // scan would find nothing: wait for `sleep` to be what runs there.
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let exec_deadline = Instant::now() + Duration::from_secs(5);
        while !fs::read(&cmdline).is_ok_and(|c| c.starts_with(b"sleep"))
            && Instant::now() < exec_deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let found = leftover_processes(&marker, Duration::from_millis(300));
        let status = child.wait().unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains(&child.id().to_string()) && found[0].contains("sleep 30"));
        assert!(!status.success(), "the leftover was killed");
        assert!(leftover_processes("no-such-marker", Duration::ZERO).is_empty());
    }
}
