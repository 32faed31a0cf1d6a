//! PyInstaller: `--onedir` / `--onefile`; the package's hook arrives through its `pyinstaller40`
//! entry point, and `--no-hook` shadows it with an empty user hook (user hooks outrank it).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use xshell::{cmd, Shell};

use super::work::Work;
use super::{mode_name, Freeze, Names, Tool, APP, FREEZE_TIMEOUT};
use crate::flags::FreezeMode;

pub struct PyInstaller;

impl Tool for PyInstaller {
    fn names(&self) -> &'static Names {
        &Names {
            name: "pyinstaller",
            requirement: super::PYINSTALLER,
            layouts: ["pyinstaller-onedir", "pyinstaller-onefile"],
        }
    }

    fn outputs(&self, work: &Path, mode: FreezeMode, exe: &str, native: &Path) -> super::Outputs {
        match mode {
            FreezeMode::Onedir => {
                let bundle = work.join("dist").join(APP);
                (
                    bundle.join(exe),
                    Some(bundle.join("_internal").join(native)),
                )
            }
            FreezeMode::Onefile => (work.join("dist").join(exe), None),
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
        let dir = work.dir.clone();
        let mode = format!("--{}", mode_name(job.mode));
        let shadow = dir.join("shadow-hooks");
        let shadow_args = if job.no_hook {
            fs::create_dir_all(&shadow)?;
            fs::write(
                shadow.join("hook-mcp_sidecar.py"),
                "# Shadows mcp_sidecar's own hook: freeze as if the package shipped none.\n",
            )?;
            vec!["--additional-hooks-dir".into(), shadow.clone()]
        } else {
            Vec::<PathBuf>::new()
        };
        let built = work.exec_ok(
            "freeze",
            cmd!(
                sh,
                "{python} -m PyInstaller --noconfirm {mode} --name {APP} --distpath {dir}/dist --workpath {dir}/build --specpath {dir} {shadow_args...} {script}"
            ),
            FREEZE_TIMEOUT,
        )?;
        // Prove which hook ran: the package's (via the pyinstaller40 entry point) or the shadow.
        let hook_line = built
            .stderr
            .lines()
            .find(|l| l.contains("hook-mcp_sidecar.py"))
            .unwrap_or("");
        let expected_dir = if job.no_hook {
            shadow.display().to_string()
        } else {
            Path::new("mcp_sidecar")
                .join("_pyinstaller")
                .display()
                .to_string()
        };
        if !hook_line.contains(&expected_dir) {
            return Err(work.fail(
                "freeze",
                format!(
                    "PyInstaller did not run hook-mcp_sidecar.py from {expected_dir} \
                     (is the pyinstaller40 entry point in the wheel?); its hook line: {hook_line:?}"
                ),
                &built.logs,
            ));
        }
        Ok(())
    }
}
