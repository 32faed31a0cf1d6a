//! A real DCC host: Blender as a Python module (PyPI `bpy`, the cp313 manylinux wheel, 400 MB)
//! runs `scripts/blender_host.py` in `call_mode="main"`; `scripts/blender_client.py` adds 100
//! objects from four MCP sessions and reads the scene resource after each. Every handler must run
//! on Blender's main thread and no call may be lost. The wheels are downloaded once into
//! `target/wheels/bpy/`; reruns install from there, offline.

use std::path::Path;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use super::host::{self, Host};
use crate::python_env::{Venv, NEWEST};

const BPY: &str = "bpy==5.2.3";
const BPY_VERSION: &str = "5.2.3";
const CALLS: usize = 100;

#[derive(Debug, serde::Deserialize)]
struct HostReport {
    blender: String,
    calls: usize,
    off_main_thread: Vec<serde_json::Value>,
    objects: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
struct ClientReport {
    tools: Vec<String>,
    objects_before: usize,
    objects_added: usize,
    add_calls: usize,
    seconds: f64,
    add_p50_ms: Option<f64>,
    problems: Vec<String>,
}

pub fn run(sh: &Shell) -> Result<()> {
    let binary = host::build_sidecar(sh)?;
    let venv = ensure_bpy_venv(sh)?;
    let python = venv.python();
    let host = Host::start(host::python_command(
        &python,
        &binary,
        "scripts/blender_host.py",
        &[],
    ))?;
    let client = host::python_command(&python, &binary, "scripts/blender_client.py", &[&host.url])
        .output()
        .context("running scripts/blender_client.py")?;
    let host_out = host.stop()?;
    let client_out = String::from_utf8_lossy(&client.stdout);
    let client_report: ClientReport = last_json_line(&client_out).with_context(|| {
        format!(
            "blender_client.py printed no report ({}); stderr:\n{}",
            client.status,
            String::from_utf8_lossy(&client.stderr)
        )
    })?;
    let host_report: HostReport =
        last_json_line(&host_out).context("blender_host.py printed no final report")?;
    eprintln!(
        "blender {}: {} add_object calls in {:.2} s (p50 {:?} ms), {} handler calls on the host, \
         {} objects in the scene",
        host_report.blender,
        client_report.add_calls,
        client_report.seconds,
        client_report.add_p50_ms,
        host_report.calls,
        host_report.objects.len()
    );
    let mut problems = client_report.problems.clone();
    if !client.status.success() && problems.is_empty() {
        problems.push(format!("blender_client.py exited with {}", client.status));
    }
    for tool in ["add_object", "list_objects"] {
        if !client_report.tools.iter().any(|t| t == tool) {
            problems.push(format!("tools/list lacks {tool}"));
        }
    }
    if client_report.add_calls != CALLS || client_report.objects_added != CALLS {
        problems.push(format!(
            "{} add_object answers and {} new objects, expected {CALLS} of each",
            client_report.add_calls, client_report.objects_added
        ));
    }
    if host_report.objects.len() != client_report.objects_before + CALLS {
        problems.push(format!(
            "the host ends with {} objects, expected {} + {CALLS}",
            host_report.objects.len(),
            client_report.objects_before
        ));
    }
    // 100 adds, 100 reads after them, and the probe's and the final check's calls.
    if host_report.calls < 2 * CALLS {
        problems.push(format!(
            "only {} handler calls reached Blender",
            host_report.calls
        ));
    }
    if !host_report.off_main_thread.is_empty() {
        problems.push(format!(
            "handlers ran off Blender's main thread: {:?}",
            host_report.off_main_thread
        ));
    }
    if !problems.is_empty() {
        bail!("blender suite: {}", problems.join("; "));
    }
    Ok(())
}

fn last_json_line<T: serde::de::DeserializeOwned>(out: &str) -> Result<T> {
    let line = out
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("no JSON line")?;
    serde_json::from_str(line).with_context(|| format!("parsing {line:?}"))
}

/// `target/venvs/blender` on CPython 3.13 with bpy, installed from `target/wheels/bpy/`.
fn ensure_bpy_venv(sh: &Shell) -> Result<Venv> {
    let venv = Venv::ensure(sh, "blender", NEWEST, &[])?;
    let python = venv.python();
    let probe = "import importlib.metadata as m; print(m.version('bpy'))";
    if cmd!(sh, "{python} -c {probe}")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|v| v.trim() == BPY_VERSION)
    {
        return Ok(venv);
    }
    let wheels = crate::project_root().join("target/wheels/bpy");
    if !has_bpy_wheel(&wheels) {
        eprintln!(
            "==> downloading {BPY} and its dependencies into {} (once, ~400 MB)",
            wheels.display()
        );
        cmd!(
            sh,
            "{python} -m pip download --quiet --disable-pip-version-check --only-binary=:all: -d {wheels} {BPY}"
        )
        .run()
        .context("pip download bpy")?;
    }
    cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check --no-index --find-links {wheels} {BPY}"
    )
    .run()
    .context("installing bpy from target/wheels/bpy")?;
    Ok(venv)
}

fn has_bpy_wheel(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n.starts_with(&format!("bpy-{BPY_VERSION}-")) && n.ends_with(".whl")
            })
        })
    })
}
