//! Frozen apps from the `dist/` wheel: PyInstaller one-dir and one-file and Nuitka standalone, each
//! a full tools/call round trip with the sidecar's executable bit checked; a freeze without the
//! hook that must fail with the locator's list of paths; and the hook's own PyInstaller test.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use xshell::Shell;

use crate::config::Config;
use crate::flags::{FreezeMode, FreezeTool};
use crate::freeze_check::{self, Freeze, Report, StepFailed, VenvUse};

pub fn run(sh: &Shell, cfg: &Config) -> Result<()> {
    let dist = crate::project_root().join("dist");
    let wheel = freeze_check::host_wheel(&dist, &cfg.name)
        .context("the freeze suite freezes the host wheel that `cargo xtask dist` writes")?;
    let freeze = |tool, mode, no_hook, venv| Freeze {
        tool,
        mode,
        no_hook,
        wheel: wheel.clone(),
        venv,
    };
    let mut timings: Vec<(String, Duration)> = Vec::new();
    let mut passed = |report: Report| {
        report.print();
        timings.push((report.label.clone(), report.total()));
    };

    // One venv per tool, shared by its builds: installing PyInstaller or Nuitka is the slow part.
    use FreezeMode::{Onedir, Onefile};
    use FreezeTool::{Nuitka, Pyinstaller};
    passed(freeze(Pyinstaller, Onedir, false, VenvUse::Fresh).run(sh)?);
    passed(freeze(Pyinstaller, Onefile, false, VenvUse::Reuse).run(sh)?);

    let negative = freeze(Pyinstaller, Onedir, true, VenvUse::Reuse);
    let (_, bundled) = negative.outputs();
    let bundled = bundled.context("a one-dir freeze has a bundle path")?;
    let start = Instant::now();
    expect_locator_failure(negative.run(sh), &bundled.display().to_string())?;
    let negative_took = start.elapsed();
    eprintln!(
        "freeze-check {}: failed as it must (the locator listed the paths it tried)",
        negative.label()
    );

    let hook_tests = freeze_check::pyinstaller_hook_tests(sh)?;

    passed(freeze(Nuitka, Onedir, false, VenvUse::Fresh).run(sh)?);

    timings.push((negative.label(), negative_took));
    timings.push(("pyinstaller hook tests".to_string(), hook_tests));
    eprintln!("freeze suite timings:");
    for (label, took) in timings {
        eprintln!("  {label:<28} {:>6.1} s", took.as_secs_f64());
    }
    Ok(())
}

/// The run without the hook must fail at the app's locate step, listing the bundle path it tried.
fn expect_locator_failure(result: Result<Report>, bundle_path: &str) -> Result<()> {
    let err = match result {
        Ok(report) => bail!(
            "freeze-check {} passed without the hook: the check cannot tell a broken bundle from a good one",
            report.label
        ),
        Err(err) => err,
    };
    let Some(failed) = err.downcast_ref::<StepFailed>() else {
        bail!("freeze-check --no-hook failed before the app ran, not at the locator: {err:#}");
    };
    let text = &failed.detail;
    ensure!(
        failed.step == "run" && text.contains("freeze_app: FAILED at locate"),
        "freeze-check --no-hook failed, but not at the locator:\n{err}"
    );
    ensure!(
        text.to_lowercase().contains("tried") && text.contains(bundle_path),
        "the locator's error does not list the bundle path {bundle_path} it should have tried:\n{err}"
    );
    Ok(())
}
