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
mod sbom;
mod target;
mod test;
mod tidy;
mod toolchain;
mod util;
mod wheel;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use xshell::Shell;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    let result = (|| -> anyhow::Result<ExitCode> {
        let sh = Shell::new()?;
        sh.change_dir(project_root());
        match flags.cmd {
            flags::Cmd::Dist(cmd) => cmd
                .run(&sh, &config::Config::load()?)
                .map(|()| ExitCode::SUCCESS),
            flags::Cmd::Plan(cmd) => cmd
                .run(&sh, &config::Config::load()?)
                .map(|()| ExitCode::SUCCESS),
            // check distinguishes "findings" (1) from usage or I/O errors (2).
            flags::Cmd::Check(cmd) => cmd.run(&sh, &config::Config::load()?),
            flags::Cmd::Test(cmd) => cmd.run(&sh).map(|()| ExitCode::SUCCESS),
            flags::Cmd::Bench(cmd) => cmd.run(&sh).map(|()| ExitCode::SUCCESS),
            flags::Cmd::Publish(cmd) => cmd.run(&sh).map(|()| ExitCode::SUCCESS),
            flags::Cmd::GithubRelease(cmd) => cmd.run(&sh).map(|()| ExitCode::SUCCESS),
            flags::Cmd::FreezeCheck(cmd) => cmd.run(&sh).map(|()| ExitCode::SUCCESS),
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

/// The workspace root (xtask lives one level below it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
