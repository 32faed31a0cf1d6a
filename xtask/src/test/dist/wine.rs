//! The Windows sidecar from the win_amd64 wheel, run under wine and driven by the Linux Python
//! host over loopback TCP. Debian's wine 8.0 lacks `ProcessPrng` in bcryptprimitives.dll, which
//! Rust's std imports, so a stub DLL built with mingw (forwarding to advapi32's
//! SystemFunction036) sits next to a copy of the exe in a scratch folder — never in a wheel.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use xshell::cmd;

use super::install::smoke;
use super::{native_binary, Ctx, LINUX_TAG, WIN_TAG};
use crate::python_env::{Venv, NEWEST};
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
    build_stub_dll(ctx, &dir)?;
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
    let venv = Venv {
        dir: ctx.scratch.join(format!("venv-wheel-py{NEWEST}")),
    };
    if !venv.python().is_file() {
        let v = Venv::fresh(ctx.sh, &venv.dir, NEWEST)?;
        v.pip_install(ctx.sh, &[&ctx.wheel_path(LINUX_TAG).to_string_lossy()])?;
    }
    let wrapper_arg = wrapper.to_string_lossy();
    let result = smoke(
        ctx,
        &venv,
        &["--binary", &wrapper_arg, "--ipc", "tcp", "--timeout", "120"],
    );
    // Stop the wineserver of our prefix (and only ours), whatever the outcome.
    if let Ok(wineserver) = find("wineserver", "/usr/lib/wine/wineserver64") {
        let _ = cmd!(ctx.sh, "{wineserver} -k")
            .env("WINEPREFIX", &prefix)
            .quiet()
            .ignore_status()
            .run();
    }
    eprintln!("    wine round trip: {}", result?);
    Ok(())
}

/// bcryptprimitives.dll exporting ProcessPrng, next to the exe.
fn build_stub_dll(ctx: &Ctx, dir: &Path) -> Result<()> {
    let gcc = find("x86_64-w64-mingw32-gcc", "/usr/bin/x86_64-w64-mingw32-gcc")
        .context("the wine test needs mingw-w64 (apt-get install mingw-w64)")?;
    let src = dir.join("stub.c");
    let def = dir.join("bcryptprimitives.def");
    let dll = dir.join("bcryptprimitives.dll");
    fs::write(&src, STUB_C)?;
    fs::write(&def, STUB_DEF)?;
    cmd!(
        ctx.sh,
        "{gcc} -shared -O2 -s -o {dll} {src} {def} -ladvapi32"
    )
    .quiet()
    .run()
    .context("building the stub bcryptprimitives.dll")?;
    Ok(())
}

/// A `binary` for McpSidecar: runs the exe under wine and drops `--parent-pid`, whose Linux
/// pid means nothing to a Windows process (it would think its parent is gone at once).
fn write_wrapper(dir: &Path, wine: &Path, exe: &Path, prefix: &Path) -> Result<PathBuf> {
    let q = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"));
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
    fs::write(&path, script)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
    }
    Ok(path)
}

fn find(name: &str, fallback: &str) -> Result<PathBuf> {
    which(name)
        .or_else(|| Some(PathBuf::from(fallback)).filter(|p| p.is_file()))
        .with_context(|| {
            format!("`{name}` is not installed (the wine test needs wine64 and mingw-w64)")
        })
}
