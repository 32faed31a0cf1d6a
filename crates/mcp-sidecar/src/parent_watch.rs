//! `--parent-pid`: notice within ~200 ms that the process that started us is gone.

use std::time::Duration;

pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Resolves once process `pid` has exited.
pub async fn wait_for_exit(pid: u32) {
    let mut parent = ParentProcess::new(pid);
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    loop {
        tick.tick().await;
        if !parent.is_alive() {
            return;
        }
    }
}

#[cfg(unix)]
pub use unix::ParentProcess;
#[cfg(windows)]
pub use windows::ParentProcess;

#[cfg(unix)]
mod unix {
    /// Checked with `kill(pid, 0)`; reparenting also counts as death when `pid` was our parent.
    pub struct ParentProcess {
        pid: libc::pid_t,
        // Only set when `pid` is our real parent: a new getppid() then means it died,
        // even if the pid has been reused or lingers as a zombie.
        original_ppid: Option<libc::pid_t>,
    }

    impl ParentProcess {
        pub fn new(pid: u32) -> Self {
            let pid = libc::pid_t::try_from(pid).unwrap_or(libc::pid_t::MAX);
            // SAFETY: getppid has no preconditions and cannot fail.
            let ppid = unsafe { libc::getppid() };
            Self {
                pid,
                original_ppid: (ppid == pid).then_some(ppid),
            }
        }

        pub fn is_alive(&mut self) -> bool {
            if let Some(original) = self.original_ppid {
                // SAFETY: as above.
                if unsafe { libc::getppid() } != original {
                    return false;
                }
            }
            if self.pid <= 0 {
                return false;
            }
            // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
            let exists = unsafe { libc::kill(self.pid, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            exists && !is_zombie(self.pid)
        }
    }

    // A dead but unreaped parent still answers kill(pid, 0); Linux shows it as state `Z`.
    #[cfg(target_os = "linux")]
    fn is_zombie(pid: libc::pid_t) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // The state follows the parenthesised command name, which may itself contain `)`.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state == 'Z' || state == 'X')
    }

    #[cfg(not(target_os = "linux"))]
    fn is_zombie(_pid: libc::pid_t) -> bool {
        false
    }
}

#[cfg(windows)]
mod windows {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, WAIT_TIMEOUT};
    use windows_sys::Win32::System::Threading::{
        OpenProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE,
    };

    /// Holds a handle opened at start, so a reused pid cannot fool the check.
    pub struct ParentProcess {
        handle: HANDLE,
    }

    // SAFETY: a process handle is a kernel object reference usable from any thread.
    unsafe impl Send for ParentProcess {}

    impl ParentProcess {
        pub fn new(pid: u32) -> Self {
            // SAFETY: plain Win32 call; a null handle (no such process) is handled below.
            let handle = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
            Self { handle }
        }

        pub fn is_alive(&mut self) -> bool {
            if self.handle.is_null() {
                return false;
            }
            // SAFETY: the handle is open and owned by self.
            unsafe { WaitForSingleObject(self.handle, 0) == WAIT_TIMEOUT }
        }
    }

    impl Drop for ParentProcess {
        fn drop(&mut self) {
            if !self.handle.is_null() {
                // SAFETY: closing the handle we opened, once.
                unsafe { CloseHandle(self.handle) };
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::process::Command;
    use std::time::Instant;

    use super::*;

    #[test]
    fn own_process_and_parent_are_alive() {
        assert!(ParentProcess::new(std::process::id()).is_alive());
        let ppid = unsafe { libc::getppid() } as u32;
        assert!(ParentProcess::new(ppid).is_alive());
    }

    #[test]
    fn a_reaped_child_is_dead() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let mut watched = ParentProcess::new(child.id());
        assert!(watched.is_alive());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!watched.is_alive());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unreaped_zombie_counts_as_dead() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let mut watched = ParentProcess::new(child.id());
        child.kill().unwrap();
        // Not reaped yet: wait until the kernel marks it a zombie.
        let deadline = Instant::now() + Duration::from_secs(5);
        while watched.is_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!watched.is_alive());
        child.wait().unwrap();
    }

    #[test]
    fn nonsense_pids_are_dead() {
        assert!(!ParentProcess::new(0).is_alive());
        assert!(!ParentProcess::new(u32::MAX).is_alive());
    }

    #[tokio::test]
    async fn wait_for_exit_resolves_within_a_second() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        let waiter = tokio::spawn(wait_for_exit(pid));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished());
        let killed = Instant::now();
        child.kill().unwrap();
        child.wait().unwrap();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("watcher noticed the exit within 1 s")
            .unwrap();
        assert!(killed.elapsed() < Duration::from_secs(1));
    }
}
