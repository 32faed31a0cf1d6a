//! Nuitka: `--mode=standalone` / `--mode=onefile`, with the package's configuration file named
//! the README's way (`python -m mcp_sidecar._nuitka`); `--no-hook` leaves it out.

use std::path::Path;

use anyhow::Result;
use xshell::{cmd, Shell};

use super::work::Work;
use super::{Freeze, Names, Tool, APP, FREEZE_TIMEOUT, RUN_TIMEOUT};
use crate::flags::FreezeMode;

pub struct Nuitka;

impl Tool for Nuitka {
    fn names(&self) -> &'static Names {
        &Names {
            name: "nuitka",
            requirement: super::NUITKA,
            layouts: ["nuitka-standalone", "nuitka-onefile"],
        }
    }

    fn outputs(&self, work: &Path, mode: FreezeMode, exe: &str, native: &Path) -> super::Outputs {
        match mode {
            FreezeMode::Onedir => {
                let bundle = work.join("build").join(format!("{APP}.dist"));
                (bundle.join(exe), Some(bundle.join(native)))
            }
            FreezeMode::Onefile => (work.join("build").join(exe), None),
        }
    }

    fn freeze(
        &self,
        job: &Freeze,
        sh: &Shell,
        work: &mut Work,
        python: &Path,
        script: &Path,
    ) -> Result<()> {
        if cfg!(target_os = "linux") && crate::util::which("patchelf").is_none() {
            return Err(work.fail(
                "freeze",
                "Nuitka standalone builds on Linux need patchelf: apt-get install patchelf \
                 (scripts/setup-debian.sh installs it)",
                "(none)",
            ));
        }
        let dir = work.dir.clone();
        let mode = match job.mode {
            FreezeMode::Onedir => "--mode=standalone",
            FreezeMode::Onefile => "--mode=onefile",
        };
        let config = if job.no_hook {
            None
        } else {
            let found = work.exec_ok(
                "nuitka-config",
                cmd!(sh, "{python} -m mcp_sidecar._nuitka"),
                RUN_TIMEOUT,
            )?;
            Some(format!(
                "--user-package-configuration-file={}",
                found.stdout.trim()
            ))
        };
        work.exec_ok(
            "freeze",
            cmd!(
                sh,
                "{python} -m nuitka {mode} --assume-yes-for-downloads --remove-output --output-dir={dir}/build --output-filename={APP} {config...} {script}"
            ),
            FREEZE_TIMEOUT,
        )?;
        Ok(())
    }
}
