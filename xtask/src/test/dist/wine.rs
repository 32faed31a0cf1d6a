//! Windows binaries under wine: the sidecar from the win_amd64 wheel, driven by the Linux Python
//! host over loopback TCP; and the sidecar crate's own tests built for Windows, whose Rust fake
//! host drives the sidecar over a named pipe (a Linux host cannot reach a wine pipe). Debian's
//! wine 8.0 lacks `ProcessPrng` in bcryptprimitives.dll, which Rust's std imports, so a stub
//! DLL built with mingw (forwarding to advapi32's SystemFunction036) sits next to the exes in
//! scratch or target folders — never in a wheel.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use xshell::{cmd, Shell};

use super::install::{host_venv, smoke};
use super::{native_binary, Ctx, WIN_TAG};
use crate::util::which;

const STUB_C: &str = r#"#include <windows.h>
/* advapi32's RtlGenRandom, which wine implements. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI stub_process_prng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
"#;

const STUB_DEF: &str = "LIBRARY bcryptprimitives\nEXPORTS\n    ProcessPrng=stub_process_prng\n";

pub fn run(ctx: &Ctx) -> Result<()> {
    let dir = ctx.fresh_dir("wine")?;
    let exe = dir.join("mcp-sidecar.exe");
    fs::write(&exe, native_binary(&fs::read(ctx.wheel_path(WIN_TAG))?)?)?;
    build_stub_dll(ctx.sh, &dir)?;
    let wine = find("wine", "/usr/lib/wine/wine64")?;
    // Kept between runs: creating a prefix takes several seconds.
    let prefix = ctx.scratch.join("wineprefix");
    let version = cmd!(ctx.sh, "{wine} {exe} --version")
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all")
        .read()
        .context("running mcp-sidecar.exe --version under wine")?;
    ensure!(
        version.contains(&ctx.cfg.version.to_string()),
        "mcp-sidecar.exe --version printed {version:?}"
    );
    eprintln!("    wine: {}", version.trim());

    let wrapper = write_wrapper(&dir, &wine, &exe, &prefix)?;
    let venv = host_venv(ctx)?;
    let wrapper_arg = wrapper.to_string_lossy();
    let result = smoke(
        ctx,
        &venv,
        &["--binary", &wrapper_arg, "--ipc", "tcp", "--timeout", "120"],
    );
    stop_wineserver(ctx.sh, &prefix);
    eprintln!("    wine round trip: {}", result?);
    Ok(())
}

/// Windows target of the crate tests; its exes find the stub DLL in their own folders.
const WIN_TARGET: &str = "x86_64-pc-windows-gnu";

/// Start/stop cycles per transport under wine, where every process start costs ~0.3 s.
const WINE_CYCLES: &str = "20";

/// `cargo test` of the sidecar crate for Windows with wine as the runner: its unit tests, and
/// the reliability suite over the named pipe and TCP.
pub fn run_crate_tests(sh: &Shell) -> Result<()> {
    let (runner, prefix) = prepare_runner(sh)?;
    let result = cmd!(
        sh,
        "cargo test --package mcp-sidecar --target {WIN_TARGET} --bins --test reliability"
    )
    .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", &runner)
    .env("MCP_SIDECAR_TEST_CYCLES", WINE_CYCLES)
    .run()
    .context("the sidecar's tests for Windows under wine");
    stop_wineserver(sh, &prefix);
    result
}

/// The crate's latency benchmark (`tests/latency.rs`) for Windows under wine; its output.
pub fn run_latency_bench(sh: &Shell) -> Result<String> {
    let (runner, prefix) = prepare_runner(sh)?;
    let result = cmd!(
        sh,
        "cargo test --quiet --package mcp-sidecar --target {WIN_TARGET} --test latency -- --ignored --nocapture"
    )
    .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", &runner)
    .read()
    .context("the latency benchmark for Windows under wine");
    stop_wineserver(sh, &prefix);
    result
}

/// The stub DLL in the Windows target's output folders and a runner script; (runner, prefix).
fn prepare_runner(sh: &Shell) -> Result<(PathBuf, PathBuf)> {
    let wine = find("wine", "/usr/lib/wine/wine64")?;
    let root = crate::project_root();
    let scratch = root.join("target/wine-tests");
    fs::create_dir_all(&scratch)?;
    build_stub_dll(sh, &scratch)?;
    let out = root.join("target").join(WIN_TARGET).join("debug");
    for dir in [out.clone(), out.join("deps")] {
        fs::create_dir_all(&dir)?;
        fs::copy(
            scratch.join("bcryptprimitives.dll"),
            dir.join("bcryptprimitives.dll"),
        )?;
    }
    // Kept between runs: creating a prefix takes several seconds.
    let prefix = scratch.join("wineprefix");
    let runner = write_runner(&scratch, &wine, &prefix)?;
    Ok((runner, prefix))
}

/// Stops the wineserver of our prefix (and only ours), whatever the outcome.
fn stop_wineserver(sh: &Shell, prefix: &Path) {
    if let Ok(wineserver) = find("wineserver", "/usr/lib/wine/wineserver64") {
        let _ = cmd!(sh, "{wineserver} -k")
            .env("WINEPREFIX", prefix)
            .quiet()
            .ignore_status()
            .run();
    }
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

/// A cargo runner: `wine EXE ARGS...` in our prefix.
fn write_runner(dir: &Path, wine: &Path, prefix: &Path) -> Result<PathBuf> {
    let script = format!(
        "#!/bin/sh\nexport WINEPREFIX={} WINEDEBUG=-all\nexec {} \"$@\"\n",
        quote(prefix),
        quote(wine)
    );
    let path = dir.join("wine-runner.sh");
    write_executable(&path, &script)?;
    Ok(path)
}

pub(super) fn write_executable(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    fs::write(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// bcryptprimitives.dll exporting ProcessPrng, next to the exe.
fn build_stub_dll(sh: &Shell, dir: &Path) -> Result<()> {
    let gcc = find("x86_64-w64-mingw32-gcc", "/usr/bin/x86_64-w64-mingw32-gcc")
        .context("the wine test needs mingw-w64 (apt-get install mingw-w64)")?;
    let src = dir.join("stub.c");
    let def = dir.join("bcryptprimitives.def");
    let dll = dir.join("bcryptprimitives.dll");
    fs::write(&src, STUB_C)?;
    fs::write(&def, STUB_DEF)?;
    cmd!(sh, "{gcc} -shared -O2 -s -o {dll} {src} {def} -ladvapi32")
        .quiet()
        .run()
        .context("building the stub bcryptprimitives.dll")?;
    Ok(())
}

/// A `binary` for McpSidecar: runs the exe under wine and drops `--parent-pid`, whose Linux
/// pid means nothing to a Windows process (it would think its parent is gone at once).
fn write_wrapper(dir: &Path, wine: &Path, exe: &Path, prefix: &Path) -> Result<PathBuf> {
    let q = quote;
    let script = format!(
        "#!/bin/sh\n\
         export WINEPREFIX={prefix} WINEDEBUG=-all\n\
         skip=\n\
         for arg in \"$@\"; do\n\
         \x20   shift\n\
         \x20   if [ -n \"$skip\" ]; then skip=; continue; fi\n\
         \x20   case \"$arg\" in --parent-pid) skip=1; continue ;; --parent-pid=*) continue ;; esac\n\
         \x20   set -- \"$@\" \"$arg\"\n\
         done\n\
         exec {wine} {exe} \"$@\"\n",
        prefix = q(prefix),
        wine = q(wine),
        exe = q(exe),
    );
    let path = dir.join("mcp-sidecar-wine.sh");
    write_executable(&path, &script)?;
    Ok(path)
}

fn find(name: &str, fallback: &str) -> Result<PathBuf> {
    which(name)
        .or_else(|| Some(PathBuf::from(fallback)).filter(|p| p.is_file()))
        .with_context(|| {
            format!("`{name}` is not installed (the wine test needs wine64 and mingw-w64)")
        })
}
