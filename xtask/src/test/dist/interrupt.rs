//! Two properties of the output folder: two runs write the same bytes, and a run interrupted
//! while packing leaves no partial file behind (and the next run finishes the job).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use xshell::cmd;

use super::{run_dist, temp_files, Ctx, LINUX_TAG};
use crate::checksums;

/// Fixed so a commit landing between the runs cannot change the timestamps.
const EPOCH: &str = "1700000000";

/// Two full runs into two empty folders: identical SHA256SUMS (wheels and sdist alike); and the
/// CI shape (one `--target` run per target, then `--assemble`) carries the parts through unchanged.
pub fn reproducible(ctx: &Ctx) -> Result<()> {
    let mut sums = Vec::new();
    for name in ["repro-a", "repro-b"] {
        let dir = ctx.fresh_dir(name)?;
        let dir_arg = dir.to_string_lossy().into_owned();
        run_dist(ctx, &["--dist", &dir_arg], &[("SOURCE_DATE_EPOCH", EPOCH)])?;
        sums.push(fs::read_to_string(dir.join(checksums::SUMS_FILE))?);
    }
    ensure!(
        sums[0] == sums[1],
        "two runs wrote different files:\n{}\n---\n{}",
        sums[0],
        sums[1]
    );
    ensure!(
        sums[0].lines().count() == 5,
        "expected 4 wheels and the sdist:\n{}",
        sums[0]
    );
    eprintln!(
        "    identical SHA256SUMS over {} files",
        sums[0].lines().count()
    );

    // The release workflow's way: one `--target` run per matrix job, then `--assemble`. Its
    // wheels differ in bytes from the one-invocation run above (cargo unifies features across
    // the targets of one invocation, e.g. tokio's `windows-sys`), so compare with the parts.
    let parts = ctx.fresh_dir("repro-parts")?;
    let mut expected = Vec::new();
    for triple in &ctx.cfg.dist.targets {
        let part = parts.join(format!("dist-{triple}"));
        let part_arg = part.to_string_lossy().into_owned();
        let args = ["--target", triple, "--no-sdist", "--dist", &part_arg];
        run_dist(ctx, &args, &[("SOURCE_DATE_EPOCH", EPOCH)])?;
        expected.extend(
            fs::read_to_string(part.join(checksums::SUMS_FILE))?
                .lines()
                .map(String::from),
        );
    }
    let sdist_line = sums[0]
        .lines()
        .find(|l| l.ends_with(".tar.gz"))
        .context("no sdist line")?;
    expected.push(sdist_line.to_string());
    expected.sort_by(|a, b| a[66..].cmp(&b[66..]));
    let assembled = ctx.fresh_dir("repro-assembled")?;
    let (parts_arg, out_arg) = (parts.to_string_lossy(), assembled.to_string_lossy());
    let args = ["--assemble", &parts_arg, "--dist", &out_arg];
    run_dist(ctx, &args, &[("SOURCE_DATE_EPOCH", EPOCH)])?;
    let assembled_sums = fs::read_to_string(assembled.join(checksums::SUMS_FILE))?;
    let got: Vec<&str> = assembled_sums.lines().collect();
    ensure!(
        got == expected,
        "--assemble did not carry the parts' wheels unchanged:\n{assembled_sums}\n---\n{}",
        expected.join("\n")
    );
    crate::release_assets::Inventory::load(&assembled, &ctx.cfg.version)?;
    eprintln!("    per-target runs + --assemble: the parts' wheels and the same sdist, consistent");
    Ok(())
}

/// Needs POSIX signals and process groups.
#[cfg(not(unix))]
pub fn interrupted_pack(_ctx: &Ctx) -> Result<()> {
    crate::test::skip(
        "dist/interrupt",
        "sends SIGINT to a process group (POSIX only)",
    )
}

/// SIGINT to the process group while a wheel is half written: no temp file stays, the earlier
/// good files are untouched, and a rerun completes.
#[cfg(unix)]
pub fn interrupted_pack(ctx: &Ctx) -> Result<()> {
    use std::os::unix::process::CommandExt;

    let dir = ctx.fresh_dir("interrupt")?;
    let dir_arg = dir.to_string_lossy().into_owned();
    let args = [
        "--target",
        "x86_64-unknown-linux-gnu",
        "--no-sdist",
        "--dist",
        &dir_arg,
    ];
    run_dist(ctx, &args, &[("SOURCE_DATE_EPOCH", EPOCH)])?;
    let wheel = dir.join(ctx.wheel_name(LINUX_TAG));
    let good = snapshot(&dir)?;

    // Another timestamp changes the wheel's bytes, so this run must rewrite it.
    let mut child = Command::new(&ctx.xtask)
        .arg("dist")
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000002")
        .env("XTASK_DIST_PACK_DELAY_MS", "60000")
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the dist run to interrupt")?;
    let pgid = child.id().to_string();
    let start = Instant::now();
    while temp_files(&dir)?.is_empty() {
        if let Some(status) = child.try_wait()? {
            bail!("dist exited ({status}) before it started writing the wheel");
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = cmd!(ctx.sh, "kill -KILL -- -{pgid}")
                .quiet()
                .ignore_status()
                .run();
            bail!("no temp file appeared in {} within 300 s", dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "    mid-pack after {:.1} s: {:?}; sending SIGINT to the process group (its `error: ... interrupted` line is expected)",
        start.elapsed().as_secs_f64(),
        temp_files(&dir)?
    );
    cmd!(ctx.sh, "kill -INT -- -{pgid}").run()?;
    let status = wait_with_timeout(&mut child, Duration::from_secs(30))?;
    ensure!(
        !status.success(),
        "an interrupted dist must not report success"
    );
    let left = temp_files(&dir)?;
    ensure!(
        left.is_empty(),
        "the interrupted run left {left:?} in {}",
        dir.display()
    );
    ensure!(
        snapshot(&dir)? == good,
        "the interrupted run changed files that were complete"
    );
    eprintln!("    stopped ({status}); no temp files, earlier files byte-identical");

    // The rerun picks up: same args, no delay, writes the new wheel and checksums.
    run_dist(ctx, &args, &[("SOURCE_DATE_EPOCH", "1700000002")])?;
    ensure!(
        Some(&fs::read(&wheel)?) != good.get(&ctx.wheel_name(LINUX_TAG)),
        "the rerun did not write the new wheel"
    );
    ensure!(temp_files(&dir)?.is_empty(), "the rerun left temp files");
    Ok(())
}

/// Every file in `dir` by name.
fn snapshot(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        files.insert(
            entry.file_name().to_string_lossy().into_owned(),
            fs::read(entry.path())?,
        );
    }
    Ok(files)
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    limit: Duration,
) -> Result<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            bail!("dist did not stop within {} s of SIGINT", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
