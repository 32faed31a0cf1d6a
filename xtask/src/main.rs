//! `cargo xtask`: parses flags and hands each command to its own module.

mod artifact;
mod atomic;
mod bench;
mod build;
mod check;
mod checksums;
mod config;
mod dist;
mod flags;
mod freeze_check;
mod github_release;
mod interrupt;
mod macho_sign;
mod plan;
mod publish;
mod python_env;
mod release_assets;
mod release_gate;
mod sbom;
mod sign;
mod target;
mod test;
mod tidy;
mod toolchain;
mod util;
mod verify_release;
mod wheel;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use xshell::Shell;

use crate::config::Config;

fn main() -> ExitCode {
    restore_sigpipe();
    let flags = flags::Xtask::parse();
    let result = (|| -> anyhow::Result<ExitCode> {
        let sh = Shell::new()?;
        sh.change_dir(project_root());
        // Loaded once, here (it runs `cargo metadata`); every command reads it.
        let cfg = Config::load()?;
        let ok = |()| ExitCode::SUCCESS;
        match flags.cmd {
            flags::Cmd::Dist(cmd) => cmd.run(&sh, &cfg).map(ok),
            flags::Cmd::Plan(cmd) => cmd.run(&sh, &cfg).map(ok),
            // check distinguishes "findings" (1) from usage or I/O errors (2).
            flags::Cmd::Check(cmd) => cmd.run(&sh, &cfg),
            flags::Cmd::Test(cmd) => cmd.run(&sh, &cfg).map(ok),
            flags::Cmd::Bench(cmd) => cmd.run(&sh, &cfg).map(ok),
            flags::Cmd::Publish(cmd) => cmd.run(&sh, &cfg).map(ok),
            flags::Cmd::GithubRelease(cmd) => cmd.run(&sh, &cfg).map(ok),
            flags::Cmd::FreezeCheck(cmd) => cmd.run(&sh, &cfg).map(ok),
            // 1: a file did not rebuild byte for byte; 2: could not verify at all.
            flags::Cmd::VerifyRelease(cmd) => cmd.run(&sh, &cfg),
        }
    })();
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`… --json | head -1`) would panic;
/// the default action ends the process quietly with the status a shell expects (141).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is always a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Set to another checkout of the same commit, this binary works on that one (the dist suite's
/// cross-machine reproducibility test builds a second checkout without compiling a second xtask).
pub const ROOT_OVERRIDE: &str = "MCP_SIDECAR_XTASK_ROOT";

/// The workspace root (xtask lives one level below it), unless `ROOT_OVERRIDE` names another.
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os(ROOT_OVERRIDE).filter(|r| !r.is_empty()) {
        return PathBuf::from(root);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
