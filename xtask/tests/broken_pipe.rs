//! `cargo xtask dist --plan --json | head -1`: a reader that goes away ends the xtask quietly,
//! killed by SIGPIPE as any Unix tool is, never with a panic (status 101) and a backtrace.

#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_the_xtask_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    for args in [&["dist", "--plan", "--json"][..], &["plan", "--json"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the xtask");
        // Closing our end before the xtask prints: its first write finds no reader.
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("piped stderr")
            .read_to_string(&mut stderr)
            .expect("reading stderr");
        let status = child.wait().expect("waiting for the xtask");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{args:?} panicked on the closed pipe:\n{stderr}"
        );
        assert_ne!(status.code(), Some(101), "{args:?}: {stderr}");
        assert_eq!(
            status.signal(),
            Some(libc::SIGPIPE),
            "{args:?} should end by SIGPIPE, ended {status}:\n{stderr}"
        );
    }
}
