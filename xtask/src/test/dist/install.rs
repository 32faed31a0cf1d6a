//! pip against dist/: tag selection per platform, wheel installs on the oldest and newest
//! Python, the musl wheel in a fresh venv, and an sdist install that builds the sidecar from source.

use std::fs;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use xshell::cmd;

use super::{
    native_binary, Ctx, LINUX_ARM_TAG, LINUX_TAG, MAC_ARM_TAG, MAC_X64_TAG, MUSL_ARM_TAG,
    MUSL_X64_TAG, WIN_ARM_TAG, WIN_TAG,
};
use crate::python_env::{Venv, NEWEST, OLDEST};

/// `pip download --platform P` must choose exactly the wheel built for P (and nothing for a
/// platform older than our floor).
pub fn tag_selection(ctx: &Ctx) -> Result<()> {
    let venv = Venv::fresh(ctx.sh, &ctx.scratch.join("venv-pip"), NEWEST)?;
    let cases = [
        ("manylinux_2_17_x86_64", Some(LINUX_TAG)),
        ("manylinux2014_x86_64", Some(LINUX_TAG)),
        ("macosx_10_12_x86_64", Some(MAC_X64_TAG)),
        ("macosx_11_0_arm64", Some(MAC_ARM_TAG)),
        ("macosx_14_0_arm64", Some(MAC_ARM_TAG)),
        ("win_amd64", Some(WIN_TAG)),
        ("manylinux_2_17_aarch64", Some(LINUX_ARM_TAG)),
        ("manylinux2014_aarch64", Some(LINUX_ARM_TAG)),
        ("musllinux_1_2_x86_64", Some(MUSL_X64_TAG)),
        ("musllinux_1_2_aarch64", Some(MUSL_ARM_TAG)),
        ("win_arm64", Some(WIN_ARM_TAG)),
        ("macosx_10_9_x86_64", None),
        ("linux_x86_64", None),
        ("musllinux_1_1_x86_64", None),
        ("linux_aarch64", None),
    ];
    for (platform, expected) in cases {
        let dest = ctx.fresh_dir("pip-download")?;
        let ok = pip_download(ctx, &venv, platform, &dest)?;
        let mut got: Vec<String> = fs::read_dir(&dest)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        got.sort();
        match expected {
            Some(tag) => {
                ensure!(ok, "pip download --platform {platform} failed");
                ensure!(
                    got == [ctx.wheel_name(tag)],
                    "--platform {platform}: pip chose {got:?}"
                );
            }
            None => ensure!(
                !ok && got.is_empty(),
                "--platform {platform}: pip should find nothing, got {got:?}"
            ),
        }
        eprintln!(
            "    --platform {platform:<22} -> {}",
            got.first().map_or("(none, as it should)", |s| s)
        );
    }
    Ok(())
}

const PLATFORM_FLAGS: [&str; 5] = [
    "--quiet",
    "--disable-pip-version-check",
    "--only-binary=:all:",
    "--no-deps",
    "--no-index",
];

fn pip_download(ctx: &Ctx, venv: &Venv, platform: &str, dest: &Path) -> Result<bool> {
    let (python, out) = (venv.python(), &ctx.out);
    let output = cmd!(
        ctx.sh,
        "{python} -m pip download {PLATFORM_FLAGS...} --platform {platform} --find-links {out} --dest {dest} mcp-sidecar"
    )
    .env_remove("PIP_FIND_LINKS")
    .ignore_status()
    .quiet()
    .output()?;
    Ok(output.status.success())
}

/// The linux wheel into fresh venvs on 3.7 and 3.13: the binary is found in `_native/` and a
/// full start → tools/call → stop works from the installed package.
pub fn wheel_installs(ctx: &Ctx) -> Result<()> {
    let wheel = ctx.wheel_path(LINUX_TAG);
    for version in [OLDEST, NEWEST] {
        let venv = Venv::fresh(
            ctx.sh,
            &ctx.scratch.join(format!("venv-wheel-py{version}")),
            version,
        )?;
        let python = venv.python();
        cmd!(
            ctx.sh,
            "{python} -m pip install --quiet --disable-pip-version-check --no-index {wheel}"
        )
        .env_remove("PIP_FIND_LINKS")
        .run()
        .with_context(|| format!("pip install of the linux wheel on Python {version}"))?;
        let site_native = format!("mcp_sidecar{}_native", std::path::MAIN_SEPARATOR);
        let where_ = python_where(ctx, &venv)?;
        ensure!(
            where_.lines().next().is_some_and(
                |l| l.contains(&site_native) && l.starts_with(&*venv.dir.to_string_lossy())
            ),
            "Python {version}: --where points elsewhere:\n{where_}"
        );
        let report = smoke(ctx, &venv, &["--expect-layout", "package"])?;
        eprintln!(
            "    Python {version}: {}",
            where_.lines().next().unwrap_or_default()
        );
        eprintln!("    Python {version}: {report}");
    }
    Ok(())
}

/// The Python 3.13 venv holding the linux wheel (made by `wheel_installs`, or here), for steps
/// that drive another binary through `--binary`.
pub fn host_venv(ctx: &Ctx) -> Result<Venv> {
    let venv = Venv {
        dir: ctx.scratch.join(format!("venv-wheel-py{NEWEST}")),
    };
    if venv.python().is_file() {
        return Ok(venv);
    }
    let venv = Venv::fresh(ctx.sh, &venv.dir, NEWEST)?;
    venv.pip_install(ctx.sh, &[&ctx.wheel_path(LINUX_TAG).to_string_lossy()])?;
    Ok(venv)
}

/// The musl wheel into a fresh venv: pip on this glibc host installs it only when told the
/// platform, which it allows only with `--target` (here the venv's own site-packages). The
/// locator then finds the musl binary in `_native/`, which runs natively here.
pub fn musl_install(ctx: &Ctx) -> Result<()> {
    let venv = Venv::fresh(ctx.sh, &ctx.scratch.join("venv-musl"), NEWEST)?;
    let (python, out) = (venv.python(), &ctx.out);
    let code = "import sysconfig; print(sysconfig.get_paths()['purelib'])";
    let site = cmd!(ctx.sh, "{python} -c {code}").read()?;
    cmd!(
        ctx.sh,
        "{python} -m pip install {PLATFORM_FLAGS...} --platform musllinux_1_2_x86_64 --find-links {out} --target {site} mcp-sidecar"
    )
    .env_remove("PIP_FIND_LINKS")
    .run()
    .context("pip install of the musl wheel into a fresh venv")?;
    let where_ = python_where(ctx, &venv)?;
    let located = where_.lines().next().unwrap_or_default();
    let wanted = native_binary(&fs::read(ctx.wheel_path(MUSL_X64_TAG))?)?;
    ensure!(
        located.starts_with(&site) && fs::read(located).ok() == Some(wanted),
        "the musl venv's --where is not the musl wheel's binary in {site}:\n{where_}"
    );
    let report = smoke(ctx, &venv, &["--expect-layout", "package"])?;
    eprintln!("    musl: {located}");
    eprintln!("    musl: {report}");
    Ok(())
}

/// `pip install <sdist>` builds the sidecar with maturin (reusing the workspace's target dir),
/// and the locator finds that binary in the venv's scripts folder.
pub fn sdist_install(ctx: &Ctx) -> Result<()> {
    let sdist = ctx.sdist_path();
    let venv = Venv::fresh(ctx.sh, &ctx.scratch.join("venv-sdist"), NEWEST)?;
    let python = venv.python();
    // Dependencies compiled by earlier builds are reused: minutes saved per CI run.
    cmd!(
        ctx.sh,
        "{python} -m pip install --disable-pip-version-check {sdist}"
    )
    .env("CARGO_TARGET_DIR", &ctx.cfg.target_dir)
    .env_remove("PIP_FIND_LINKS")
    .run()
    .context("pip install of the sdist (a source build through maturin)")?;
    let where_ = python_where(ctx, &venv)?;
    let scripts = venv.bin("mcp-sidecar");
    ensure!(
        where_.lines().next() == Some(&*scripts.to_string_lossy()),
        "after the sdist install --where should find {}:\n{where_}",
        scripts.display()
    );
    let report = smoke(ctx, &venv, &["--expect-layout", "scripts"])?;
    eprintln!("    sdist: {}", where_.lines().next().unwrap_or_default());
    eprintln!("    sdist: {report}");
    Ok(())
}

/// `python -m mcp_sidecar --where`, run outside the repository so only the install is importable.
fn python_where(ctx: &Ctx, venv: &Venv) -> Result<String> {
    let python = venv.python();
    let _dir = ctx.sh.push_dir(&venv.dir);
    cmd!(ctx.sh, "{python} -m mcp_sidecar --where")
        .env_remove("PYTHONPATH")
        .env_remove("MCP_SIDECAR_BINARY")
        .read()
        .context("python -m mcp_sidecar --where")
}

/// scripts/smoke_roundtrip.py with the venv's Python; returns its JSON line.
pub fn smoke(ctx: &Ctx, venv: &Venv, args: &[&str]) -> Result<String> {
    let python = venv.python();
    let script = ctx.cfg.workspace_root.join("scripts/smoke_roundtrip.py");
    let _dir = ctx.sh.push_dir(&venv.dir);
    let output = cmd!(ctx.sh, "{python} {script} {args...}")
        .env_remove("PYTHONPATH")
        .env_remove("MCP_SIDECAR_BINARY")
        .ignore_status()
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    ensure!(
        output.status.success(),
        "smoke_roundtrip.py failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}
