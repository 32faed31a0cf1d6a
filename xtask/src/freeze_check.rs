//! `cargo xtask freeze-check`: freeze `scripts/freeze_app.py` with PyInstaller or Nuitka from the
//! host wheel in `dist/`, run the frozen app, and prove it found, started, called and stopped the
//! sidecar. Every step writes its stdout/stderr into `target/freeze/<tool>-<mode>/`.
//!
//! What differs per tool (pin, command line, layout, output paths) is its `Tool`, one file each;
//! `app.rs` runs and judges the frozen app, `host.rs` picks the wheel, `work.rs` runs the steps.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::config::Config;
use crate::flags::{self, FreezeMode, FreezeTool};
use crate::python_env::{find_interpreter, NEWEST};
use crate::util::venv_python;

mod app;
mod host;
mod nuitka;
mod procs;
mod pyinstaller;
mod work;

pub use host::host_wheel;
pub use work::StepFailed;
use work::{tail, Work};

/// Pinned: a new release of either tool must not silently change what "works" means.
pub const PYINSTALLER: &str = "pyinstaller==6.22.3";
pub const NUITKA: &str = "nuitka==4.3.3";
/// For the hook's own test (`python -m PyInstaller.utils.run_tests`).
pub const PYTEST: &str = "pytest==8.4.2";
/// Both tools support 3.13 (PyInstaller ≥ 6.10, Nuitka ≥ 2.5) and every CI machine has it.
const PYTHON: &str = NEWEST;
const APP: &str = "freeze_app";
/// What the app's tool answers for its probe text ("frozen sidecar", reversed).
pub const PROBE_ANSWER: &str = "racedis nezorf";

const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
const FREEZE_TIMEOUT: Duration = Duration::from_secs(1200);
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const LEFTOVER_GRACE: Duration = Duration::from_secs(3);

/// The frozen executable, and for one-dir layouts the sidecar inside the bundle.
type Outputs = (PathBuf, Option<PathBuf>);

/// What differs between the freezing tools; the steps around them are `Freeze`'s.
trait Tool {
    fn names(&self) -> &'static Names;
    /// Where the freeze in `work` puts the app (`exe`) and the sidecar (`native`, package-relative).
    fn outputs(&self, work: &Path, mode: FreezeMode, exe: &str, native: &Path) -> Outputs;
    /// Freezes `script` into `work.dir`.
    fn freeze(
        &self,
        job: &Freeze,
        sh: &Shell,
        work: &mut Work,
        python: &Path,
        script: &Path,
    ) -> Result<()>;
}

/// A tool's fixed names.
struct Names {
    /// Names the tool's venv and work folders.
    name: &'static str,
    /// The pinned pip requirement.
    requirement: &'static str,
    /// What `mcp_sidecar.locate_binary()` must report inside its onedir and onefile freezes.
    layouts: [&'static str; 2],
}

impl dyn Tool {
    fn name(&self) -> &'static str {
        self.names().name
    }

    fn requirement(&self) -> &'static str {
        self.names().requirement
    }

    fn layout(&self, mode: FreezeMode) -> &'static str {
        self.names().layouts[usize::from(mode == FreezeMode::Onefile)]
    }
}

fn tool(tool: FreezeTool) -> &'static dyn Tool {
    match tool {
        FreezeTool::Pyinstaller => &pyinstaller::PyInstaller,
        FreezeTool::Nuitka => &nuitka::Nuitka,
    }
}

impl flags::FreezeCheck {
    pub fn run(self, sh: &Shell, cfg: &Config) -> Result<()> {
        let dist = crate::project_root().join(&self.dist);
        let freeze = Freeze {
            tool: self.tool,
            mode: self.mode,
            no_hook: self.no_hook,
            wheel: host_wheel(&dist, &cfg.name)?,
            venv: if self.reuse_venv {
                VenvUse::Reuse
            } else {
                VenvUse::Fresh
            },
        };
        let report = freeze.run(sh)?;
        report.print();
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenvUse {
    /// Recreate `target/freeze/venv-<tool>` from scratch.
    Fresh,
    /// Keep it if it exists (the suite: one venv per tool across modes).
    Reuse,
}

/// One freeze check: which tool, which layout, with or without the package's hook/config.
pub struct Freeze {
    pub tool: FreezeTool,
    pub mode: FreezeMode,
    pub no_hook: bool,
    pub wheel: PathBuf,
    pub venv: VenvUse,
}

/// What a passing check saw.
pub struct Report {
    pub label: String,
    pub work: PathBuf,
    pub app_output: BTreeMap<String, String>,
    /// The bundled sidecar and its Unix mode (one-dir layouts; one-file apps report it themselves).
    pub bundled: Option<(PathBuf, Option<u32>)>,
    pub timings: Vec<(&'static str, Duration)>,
}

impl Report {
    pub fn print(&self) {
        let get = |key: &str| self.app_output.get(key).map(String::as_str).unwrap_or("?");
        eprintln!("freeze-check {}: OK", self.label);
        eprintln!(
            "  tool answer: {} (layout {}, found via {})",
            get("tool answer"),
            get("layout"),
            get("found via")
        );
        match &self.bundled {
            Some((path, Some(mode))) => {
                eprintln!("  bundled sidecar: {} (mode {mode:o})", path.display())
            }
            Some((path, None)) => eprintln!("  bundled sidecar: {}", path.display()),
            None => eprintln!(
                "  sidecar (one-file extraction): {} (executable: {})",
                get("binary"),
                get("executable")
            ),
        }
        eprintln!(
            "  sidecar stopped with exit {}; no leftover processes",
            get("sidecar exit")
        );
        let timings: Vec<String> = self
            .timings
            .iter()
            .map(|(step, took)| format!("{step} {:.1} s", took.as_secs_f64()))
            .collect();
        eprintln!("  timings: {}", timings.join(", "));
        eprintln!("  logs: {}", self.work.display());
    }

    pub fn total(&self) -> Duration {
        self.timings.iter().map(|(_, took)| *took).sum()
    }
}

impl Freeze {
    fn tool(&self) -> &'static dyn Tool {
        tool(self.tool)
    }

    pub fn label(&self) -> String {
        let mut label = format!("{} {}", self.tool().name(), mode_name(self.mode));
        if self.no_hook {
            label.push_str(" --no-hook");
        }
        label
    }

    /// `target/freeze/<tool>-<mode>[-no-hook]`, so a negative run never clobbers a positive one's logs.
    pub fn work_dir(&self) -> PathBuf {
        let suffix = if self.no_hook { "-no-hook" } else { "" };
        freeze_root().join(format!(
            "{}-{}{suffix}",
            self.tool().name(),
            mode_name(self.mode)
        ))
    }

    /// The frozen executable, and the sidecar inside the bundle for one-dir layouts.
    pub fn outputs(&self) -> Outputs {
        let exe = format!("{APP}{}", std::env::consts::EXE_SUFFIX);
        let native = Path::new("mcp_sidecar")
            .join("_native")
            .join(format!("mcp-sidecar{}", std::env::consts::EXE_SUFFIX));
        self.tool()
            .outputs(&self.work_dir(), self.mode, &exe, &native)
    }

    pub fn venv_dir(&self) -> PathBuf {
        tool_venv(self.tool)
    }

    pub fn run(&self, sh: &Shell) -> Result<Report> {
        let dir = self.work_dir();
        let mut work = Work::create(dir.clone(), self.label())?;
        // Tools and the app run from the work dir (`exec` also drops PYTHONPATH).
        let _cwd = sh.push_dir(&dir);

        let python = self.prepare_venv(sh, &mut work)?;
        self.install(sh, &mut work, &python)?;
        let script = work.dir.join(format!("{APP}.py"));
        fs::copy(crate::project_root().join("scripts/freeze_app.py"), &script)
            .with_context(|| format!("copying scripts/freeze_app.py to {}", script.display()))?;
        self.tool().freeze(self, sh, &mut work, &python, &script)?;
        let (app, _) = self.outputs();
        if !app.is_file() {
            return Err(work.fail(
                "freeze",
                format!("the build finished but {} does not exist", app.display()),
                &work.dir.display().to_string(),
            ));
        }
        let app_output = self.run_app(sh, &mut work)?;
        let bundled = self.check_bundle(&work, &app_output)?;
        Ok(Report {
            label: work.label.clone(),
            work: dir,
            app_output,
            bundled,
            timings: work.timings,
        })
    }

    fn prepare_venv(&self, sh: &Shell, work: &mut Work) -> Result<PathBuf> {
        let venv = self.venv_dir();
        let python = venv_python(&venv);
        if self.venv == VenvUse::Reuse && python.is_file() {
            return Ok(python);
        }
        let interpreter = find_interpreter(PYTHON)?;
        work.exec_ok(
            "venv",
            cmd!(sh, "{interpreter} -m venv --clear {venv}"),
            INSTALL_TIMEOUT,
        )?;
        Ok(python)
    }

    fn install(&self, sh: &Shell, work: &mut Work, python: &Path) -> Result<()> {
        let requirement = self.tool().requirement();
        work.exec_ok(
            "install-tool",
            cmd!(
                sh,
                "{python} -m pip install --disable-pip-version-check {requirement}"
            ),
            INSTALL_TIMEOUT,
        )?;
        // The same version string may hold a rebuilt binary: always put dist/'s wheel in.
        let wheel = &self.wheel;
        work.exec_ok(
            "install-wheel",
            cmd!(
                sh,
                "{python} -m pip install --disable-pip-version-check --force-reinstall --no-deps {wheel}"
            ),
            INSTALL_TIMEOUT,
        )?;
        // What gets frozen is the installed wheel, with its binary in the package.
        let where_ = work.exec_ok(
            "where-installed",
            cmd!(sh, "{python} -m mcp_sidecar --where"),
            RUN_TIMEOUT,
        )?;
        if !where_.stdout.contains("layout: package") {
            return Err(work.fail(
                "where-installed",
                format!(
                    "the installed wheel does not provide its own binary (expected `layout: package`):\n{}",
                    where_.stdout.trim()
                ),
                &where_.logs,
            ));
        }
        Ok(())
    }
}

/// Runs the hook's own test (the `pyinstaller40` → `tests` entry point) in the PyInstaller venv.
pub fn pyinstaller_hook_tests(sh: &Shell) -> Result<Duration> {
    let python = venv_python(&tool_venv(FreezeTool::Pyinstaller));
    if !python.is_file() {
        bail!(
            "{} does not exist: run a PyInstaller freeze-check first",
            python.display()
        );
    }
    let dir = freeze_root().join("pyinstaller-hook-tests");
    let mut work = Work::create(dir.clone(), "pyinstaller hook tests".to_string())?;
    let _cwd = sh.push_dir(&dir);
    work.exec_ok(
        "install-pytest",
        cmd!(
            sh,
            "{python} -m pip install --disable-pip-version-check {PYTEST}"
        ),
        INSTALL_TIMEOUT,
    )?;
    let basetemp = dir.join("pytest");
    let tests = work.exec_ok(
        "hook-tests",
        cmd!(
            sh,
            "{python} -m PyInstaller.utils.run_tests --include_only mcp_sidecar. -q -p no:cacheprovider --basetemp={basetemp}"
        ),
        FREEZE_TIMEOUT,
    )?;
    eprintln!("{}", tail(&tests.stdout, 3));
    Ok(work.timings.iter().map(|(_, took)| *took).sum())
}

pub fn freeze_root() -> PathBuf {
    crate::project_root().join("target/freeze")
}

/// `target/freeze/venv-<tool>`: one per tool, shared by its modes.
fn tool_venv(which: FreezeTool) -> PathBuf {
    freeze_root().join(format!("venv-{}", tool(which).name()))
}

fn mode_name(mode: FreezeMode) -> &'static str {
    match mode {
        FreezeMode::Onedir => "onedir",
        FreezeMode::Onefile => "onefile",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_own_work_dir_and_layout() {
        let mut seen = std::collections::BTreeSet::new();
        for which in [FreezeTool::Pyinstaller, FreezeTool::Nuitka] {
            for mode in [FreezeMode::Onedir, FreezeMode::Onefile] {
                for no_hook in [false, true] {
                    let f = Freeze {
                        tool: which,
                        mode,
                        no_hook,
                        wheel: PathBuf::new(),
                        venv: VenvUse::Reuse,
                    };
                    assert!(seen.insert(f.work_dir()), "{}", f.label());
                    assert!(f.tool().layout(mode).starts_with(tool(which).name()));
                    let (app, bundled) = f.outputs();
                    assert!(app.starts_with(f.work_dir()), "{}", app.display());
                    assert_eq!(bundled.is_some(), mode == FreezeMode::Onedir);
                }
            }
        }
    }
}
