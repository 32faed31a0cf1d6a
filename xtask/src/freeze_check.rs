//! `cargo xtask freeze-check`: freeze `scripts/freeze_app.py` with PyInstaller or Nuitka from the
//! host wheel in `dist/`, run the frozen app, and prove it found, started, called and stopped the
//! sidecar. Every step writes its stdout/stderr into `target/freeze/<tool>-<mode>/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::flags::{self, FreezeMode, FreezeTool};
use crate::python_env::{find_interpreter, NEWEST};
use crate::wheel::{Arch, Os, WheelFilename};

mod procs;
mod work;

use procs::{leftover_processes, process_alive, MARKER_ENV};
pub use work::StepFailed;
use work::{describe, tail, Work};

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

impl flags::FreezeCheck {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let dist = crate::project_root().join(&self.dist);
        let freeze = Freeze {
            tool: self.tool,
            mode: self.mode,
            no_hook: self.no_hook,
            wheel: host_wheel(&dist)?,
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

/// The wheel in `dist` whose platform tag is this machine's OS and architecture.
pub fn host_wheel(dist: &Path) -> Result<PathBuf> {
    let (os, arch) = host_platform()?;
    let entries = fs::read_dir(dist).with_context(|| {
        format!(
            "reading {} (run `cargo xtask dist` first to build the wheels)",
            dist.display()
        )
    })?;
    let mut seen = Vec::new();
    let mut matching = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Ok(wheel) = WheelFilename::parse(name) else {
            continue;
        };
        seen.push(name.to_string());
        let platforms = wheel.platforms();
        if wheel.name.normalized() == "mcp-sidecar"
            && platforms.iter().any(|t| t.os() == os && t.arch() == arch)
        {
            matching.push(path);
        }
    }
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => bail!(
            "no mcp_sidecar wheel for this machine ({os:?} {arch:?}) in {}; wheels there: [{}]. \
             Run `cargo xtask dist` first.",
            dist.display(),
            seen.join(", ")
        ),
        _ => bail!(
            "more than one mcp_sidecar wheel for this machine in {}: {}",
            dist.display(),
            matching
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn host_platform() -> Result<(Os, Arch)> {
    let os = match std::env::consts::OS {
        "linux" => Os::Linux,
        "macos" => Os::Macos,
        "windows" => Os::Windows,
        other => bail!("freeze-check does not know wheels for OS `{other}`"),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => Arch::X86_64,
        "aarch64" => Arch::Aarch64,
        other => bail!("freeze-check does not know wheels for architecture `{other}`"),
    };
    Ok((os, arch))
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
    pub fn label(&self) -> String {
        let mut label = format!("{} {}", tool_name(self.tool), mode_name(self.mode));
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
            tool_name(self.tool),
            mode_name(self.mode)
        ))
    }

    /// What `mcp_sidecar.locate_binary()` must report inside this freeze.
    pub fn expected_layout(&self) -> &'static str {
        match (self.tool, self.mode) {
            (FreezeTool::Pyinstaller, FreezeMode::Onedir) => "pyinstaller-onedir",
            (FreezeTool::Pyinstaller, FreezeMode::Onefile) => "pyinstaller-onefile",
            (FreezeTool::Nuitka, FreezeMode::Onedir) => "nuitka-standalone",
            (FreezeTool::Nuitka, FreezeMode::Onefile) => "nuitka-onefile",
        }
    }

    /// The frozen executable, and the sidecar inside the bundle for one-dir layouts.
    pub fn outputs(&self) -> (PathBuf, Option<PathBuf>) {
        let work = self.work_dir();
        let exe = format!("{APP}{}", std::env::consts::EXE_SUFFIX);
        let native = Path::new("mcp_sidecar")
            .join("_native")
            .join(format!("mcp-sidecar{}", std::env::consts::EXE_SUFFIX));
        match (self.tool, self.mode) {
            (FreezeTool::Pyinstaller, FreezeMode::Onedir) => {
                let bundle = work.join("dist").join(APP);
                (
                    bundle.join(&exe),
                    Some(bundle.join("_internal").join(native)),
                )
            }
            (FreezeTool::Pyinstaller, FreezeMode::Onefile) => (work.join("dist").join(&exe), None),
            (FreezeTool::Nuitka, FreezeMode::Onedir) => {
                let bundle = work.join("build").join(format!("{APP}.dist"));
                (bundle.join(&exe), Some(bundle.join(native)))
            }
            (FreezeTool::Nuitka, FreezeMode::Onefile) => (work.join("build").join(&exe), None),
        }
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
        self.freeze(sh, &mut work, &python)?;
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
        let tool = match self.tool {
            FreezeTool::Pyinstaller => PYINSTALLER,
            FreezeTool::Nuitka => NUITKA,
        };
        work.exec_ok(
            "install-tool",
            cmd!(
                sh,
                "{python} -m pip install --disable-pip-version-check {tool}"
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

    fn freeze(&self, sh: &Shell, work: &mut Work, python: &Path) -> Result<()> {
        let script = work.dir.join(format!("{APP}.py"));
        fs::copy(crate::project_root().join("scripts/freeze_app.py"), &script)
            .with_context(|| format!("copying scripts/freeze_app.py to {}", script.display()))?;
        if cfg!(target_os = "linux")
            && self.tool == FreezeTool::Nuitka
            && which("patchelf").is_none()
        {
            return Err(work.fail(
                "freeze",
                "Nuitka standalone builds on Linux need patchelf: apt-get install patchelf \
                 (scripts/setup-debian.sh installs it)",
                "(none)",
            ));
        }
        let dir = work.dir.clone();
        match self.tool {
            FreezeTool::Pyinstaller => {
                let mode = format!("--{}", mode_name(self.mode));
                // User hooks outrank a package's own (priority 1000 vs 0): an empty one disables ours.
                let shadow = dir.join("shadow-hooks");
                let shadow_args = if self.no_hook {
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
                let expected_dir = if self.no_hook {
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
            }
            FreezeTool::Nuitka => {
                let mode = match self.mode {
                    FreezeMode::Onedir => "--mode=standalone",
                    FreezeMode::Onefile => "--mode=onefile",
                };
                // The README's way to name the package's configuration: ask the installed package.
                let config = if self.no_hook {
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
            }
        }
        let (app, _) = self.outputs();
        if !app.is_file() {
            return Err(work.fail(
                "freeze",
                format!("the build finished but {} does not exist", app.display()),
                &work.dir.display().to_string(),
            ));
        }
        Ok(())
    }

    /// Runs the frozen app in a scrubbed environment and checks what it printed.
    fn run_app(&self, sh: &Shell, work: &mut Work) -> Result<BTreeMap<String, String>> {
        let (app, _) = self.outputs();
        let marker = format!(
            "{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        // No PATH entry or user scheme may hold an mcp-sidecar: only the bundle counts.
        let user_base = work.dir.join("no-user-base");
        let user_base = user_base.to_string_lossy();
        let path = scrubbed_path();
        let mut envs: Vec<(&str, &str)> = vec![
            ("PATH", &path),
            ("PYTHONUSERBASE", &user_base),
            (MARKER_ENV, &marker),
        ];
        let kept: Vec<(&str, String)> = KEPT_ENV
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v)))
            .collect();
        envs.extend(kept.iter().map(|(k, v)| (*k, v.as_str())));
        let run = work.exec("run", cmd!(sh, "{app}").env_clear(), &envs, RUN_TIMEOUT);
        // Scanned whatever happened to the run: a crash or a timeout may leave a sidecar behind.
        let mut leftovers = leftover_processes(&marker, LEFTOVER_GRACE);
        let run = run?;
        let output = parse_output(&run.stdout);
        if let Some(pid) = output
            .get("sidecar pid")
            .and_then(|p| p.parse::<u32>().ok())
        {
            if process_alive(pid) {
                leftovers.push(format!("  {pid} (the sidecar the app reported)"));
            }
        }
        let leftovers = if leftovers.is_empty() {
            String::new()
        } else {
            format!(
                "processes the frozen app started were still running {} s after it exited \
                 (now killed):\n{}",
                LEFTOVER_GRACE.as_secs(),
                leftovers.join("\n")
            )
        };
        if !run.status.success() {
            let meaning = match run.status.code() {
                Some(3) => " (the app could not find the sidecar binary)",
                _ => "",
            };
            // The app's own failure line, and the locator's list of paths that follows it.
            let failure = run
                .stderr
                .find("freeze_app: FAILED")
                .map(|at| tail(&run.stderr[at..], 40))
                .unwrap_or_else(|| tail(&run.stderr, 25));
            let detail = format!(
                "the frozen app exited with {}{meaning}:\n{failure}\n{leftovers}",
                describe(run.status)
            );
            return Err(work.fail("run", detail.trim_end(), &run.logs));
        }
        if !leftovers.is_empty() {
            return Err(work.fail("leftovers", leftovers, &run.logs));
        }
        let expect = |key: &str, want: &str| -> Result<()> {
            match output.get(key) {
                Some(got) if got == want => Ok(()),
                got => Err(work.fail(
                    "run",
                    format!(
                        "the frozen app printed `{key}: {}`, expected `{key}: {want}`",
                        got.map_or("<nothing>", |g| g)
                    ),
                    &run.logs,
                )),
            }
        };
        expect("result", "OK")?;
        expect("tool answer", PROBE_ANSWER)?;
        expect("layout", self.expected_layout())?;
        expect("executable", "yes")?;
        expect("sidecar exit", "0")?;
        Ok(output)
    }

    /// One-dir layouts: the sidecar sits in the bundle, executable, and is the one the app used.
    fn check_bundle(
        &self,
        work: &Work,
        output: &BTreeMap<String, String>,
    ) -> Result<Option<(PathBuf, Option<u32>)>> {
        let (_, bundled) = self.outputs();
        let logs = work.dir.display().to_string();
        let Some(bundled) = bundled else {
            // One-file: the app reported an executable sidecar in its extraction folder.
            let reported = output.get("binary").map(PathBuf::from).unwrap_or_default();
            if reported.starts_with(self.venv_dir()) || reported.starts_with(&work.dir) {
                return Err(work.fail(
                    "bundle",
                    format!(
                        "the one-file app used {}, not its extraction folder",
                        reported.display()
                    ),
                    &logs,
                ));
            }
            return Ok(None);
        };
        let meta = fs::metadata(&bundled).map_err(|e| {
            work.fail(
                "bundle",
                format!("the bundled sidecar {}: {e}", bundled.display()),
                &logs,
            )
        })?;
        let mode = file_mode(&meta);
        if let Some(mode) = mode.filter(|m| m & 0o111 != 0o111) {
            return Err(work.fail(
                "bundle",
                format!(
                    "the bundled sidecar {} lost its executable bits (mode {mode:o})",
                    bundled.display()
                ),
                &logs,
            ));
        }
        let reported = output.get("binary").map(PathBuf::from).unwrap_or_default();
        if !same_file(&reported, &bundled) {
            return Err(work.fail(
                "bundle",
                format!(
                    "the app used {}, not the bundled {}",
                    reported.display(),
                    bundled.display()
                ),
                &logs,
            ));
        }
        Ok(Some((bundled, mode)))
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

/// Environment the frozen app keeps (temp dirs, locale, Windows essentials); everything else goes.
const KEPT_ENV: &[&str] = &[
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "WINDIR",
    "USERPROFILE",
    "LOCALAPPDATA",
    "APPDATA",
];

fn scrubbed_path() -> String {
    if cfg!(windows) {
        let root = std::env::var("SYSTEMROOT").unwrap_or_else(|_| r"C:\Windows".to_string());
        format!(r"{root}\System32;{root}")
    } else {
        "/usr/bin:/bin".to_string()
    }
}

pub fn freeze_root() -> PathBuf {
    crate::project_root().join("target/freeze")
}

/// `target/freeze/venv-<tool>`: one per tool, shared by its modes.
fn tool_venv(tool: FreezeTool) -> PathBuf {
    freeze_root().join(format!("venv-{}", tool_name(tool)))
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn tool_name(tool: FreezeTool) -> &'static str {
    match tool {
        FreezeTool::Pyinstaller => "pyinstaller",
        FreezeTool::Nuitka => "nuitka",
    }
}

fn mode_name(mode: FreezeMode) -> &'static str {
    match mode {
        FreezeMode::Onedir => "onedir",
        FreezeMode::Onefile => "onefile",
    }
}

/// `key: value` lines of the app's stdout; the first of each key wins.
fn parse_output(stdout: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((key, value)) = line.split_once(": ") {
            out.entry(key.trim().to_string())
                .or_insert_with(|| value.trim().to_string());
        }
    }
    out
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(unix)]
fn file_mode(meta: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_meta: &fs::Metadata) -> Option<u32> {
    None // Windows runs any .exe: there is no executable bit to lose
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_apps_key_value_lines() {
        let out = parse_output(
            "binary: /a/b\nlayout: pyinstaller-onedir\ntool answer: x: y\nlayout: other\n",
        );
        assert_eq!(out["binary"], "/a/b");
        assert_eq!(out["layout"], "pyinstaller-onedir");
        assert_eq!(out["tool answer"], "x: y");
    }

    #[test]
    fn every_variant_has_its_own_work_dir_and_layout() {
        let mut seen = std::collections::BTreeSet::new();
        for tool in [FreezeTool::Pyinstaller, FreezeTool::Nuitka] {
            for mode in [FreezeMode::Onedir, FreezeMode::Onefile] {
                for no_hook in [false, true] {
                    let f = Freeze {
                        tool,
                        mode,
                        no_hook,
                        wheel: PathBuf::new(),
                        venv: VenvUse::Reuse,
                    };
                    assert!(seen.insert(f.work_dir()), "{}", f.label());
                    assert!(f.expected_layout().starts_with(tool_name(tool)));
                }
            }
        }
    }

    #[test]
    fn picks_the_host_wheel_by_platform_tag() {
        let dir = std::env::temp_dir().join(format!("freeze-check-wheels-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let names = [
            "mcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "mcp_sidecar-0.1.0-py3-none-macosx_10_12_x86_64.whl",
            "mcp_sidecar-0.1.0-py3-none-macosx_11_0_arm64.whl",
            "mcp_sidecar-0.1.0-py3-none-win_amd64.whl",
            "mcp_sidecar-0.1.0.tar.gz",
        ];
        for name in names {
            fs::write(dir.join(name), b"").unwrap();
        }
        let picked = host_wheel(&dir);
        let _ = fs::remove_dir_all(&dir);
        let (os, arch) = host_platform().unwrap();
        let picked = picked.unwrap();
        let name = picked.file_name().unwrap().to_str().unwrap();
        let wheel = WheelFilename::parse(name).unwrap();
        assert!(wheel
            .platforms()
            .iter()
            .any(|t| t.os() == os && t.arch() == arch));
    }

    #[test]
    fn no_host_wheel_says_what_it_found() {
        let dir = std::env::temp_dir().join(format!("freeze-check-empty-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("mcp_sidecar-0.1.0-py3-none-win_arm64.whl"), b"").unwrap();
        let err = host_wheel(&dir).unwrap_err().to_string();
        let _ = fs::remove_dir_all(&dir);
        assert!(err.contains("win_arm64"), "{err}");
        assert!(err.contains("cargo xtask dist"), "{err}");
    }
}
