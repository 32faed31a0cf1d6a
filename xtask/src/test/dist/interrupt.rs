//! Two properties of the output folder: two runs write the same bytes, and a run interrupted
//! anywhere in its packing phase leaves no partial file behind (and the next run finishes).

use std::fs;

use anyhow::{ensure, Context, Result};

use super::{run_dist, Ctx};
use crate::artifact::SUMS_FILE;

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
        sums.push(fs::read_to_string(dir.join(SUMS_FILE))?);
    }
    ensure!(
        sums[0] == sums[1],
        "two runs wrote different files:\n{}\n---\n{}",
        sums[0],
        sums[1]
    );
    ensure!(
        sums[0].lines().count() == super::ALL_TAGS.len() + 1,
        "expected {} wheels and the sdist:\n{}",
        super::ALL_TAGS.len(),
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
            fs::read_to_string(part.join(SUMS_FILE))?
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
    let assembled_sums = fs::read_to_string(assembled.join(SUMS_FILE))?;
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

#[cfg(unix)]
pub use sigint::interrupted_pack;

#[cfg(unix)]
mod sigint {
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::Path;
    use std::process::{Command, ExitStatus, Stdio};
    use std::time::{Duration, Instant};

    use anyhow::{bail, ensure, Context, Result};

    use super::super::{run_dist, temp_files, Ctx, LINUX_TAG};
    use super::EPOCH;

    /// How many moments of the packing phase are interrupted.
    const TRIALS: u32 = 16;

    /// SIGINT to the real `cargo xtask dist` (its process group, as a terminal's Ctrl-C) at
    /// `TRIALS` moments spread over the packing phase of a warm run that must rewrite the wheel.
    /// After each: no temp file, and every file is either the earlier run's or the finished run's,
    /// byte for byte. Then a rerun completes the job.
    pub fn interrupted_pack(ctx: &Ctx) -> Result<()> {
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
        let old = snapshot(&dir)?;
        // Another timestamp changes the wheel's bytes, so the runs below must rewrite it.
        let (status, phase, log) = packing_run(ctx, &args, None)?;
        ensure!(status.success(), "the uninterrupted run failed:\n{log}");
        let new = snapshot(&dir)?;
        let wheel = ctx.wheel_name(LINUX_TAG);
        ensure!(
            old.get(&wheel) != new.get(&wheel),
            "a new SOURCE_DATE_EPOCH did not change {wheel}"
        );
        eprintln!(
            "    packing phase of a warm run: {:.0} ms; interrupting it at {TRIALS} moments",
            phase.as_secs_f64() * 1000.0
        );
        let mut outcomes = BTreeMap::new();
        for trial in 0..TRIALS {
            restore(&dir, &old)?;
            let delay = phase.mul_f64(f64::from(trial) / f64::from(TRIALS - 1));
            let (status, _, log) = packing_run(ctx, &args, Some(delay))?;
            ensure!(
                status.success() || log.contains(crate::interrupt::MESSAGE),
                "after {delay:?}: dist failed, but not because it was interrupted:\n{log}"
            );
            let left = temp_files(&dir)?;
            ensure!(
                left.is_empty(),
                "after {delay:?}: the interrupted run left {left:?} in {}",
                dir.display()
            );
            let now = snapshot(&dir)?;
            let mut state = Vec::new();
            for (name, bytes) in &now {
                let which = if old.get(name) == Some(bytes) {
                    "old"
                } else if new.get(name) == Some(bytes) {
                    "new"
                } else {
                    bail!("after {delay:?}: {name} is neither the earlier nor the finished file");
                };
                state.push(format!("{name}={which}"));
            }
            ensure!(
                old.keys().all(|name| now.contains_key(name)),
                "after {delay:?}: the interrupted run removed files: {:?}",
                now.keys().collect::<Vec<_>>()
            );
            let outcome = if status.success() {
                "finished".to_string()
            } else {
                state.join(" ")
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
        }
        for (outcome, count) in &outcomes {
            eprintln!("    {count:>2} × {outcome}");
        }
        ensure!(
            outcomes.keys().any(|o| o != "finished"),
            "no trial interrupted the run: the test did not test anything"
        );

        // The rerun picks up: same args, writes the new wheel and checksums.
        run_dist(ctx, &args, &[("SOURCE_DATE_EPOCH", EPOCH_B)])?;
        ensure!(snapshot(&dir)? == new, "the rerun did not finish the job");
        ensure!(temp_files(&dir)?.is_empty(), "the rerun left temp files");
        Ok(())
    }

    const EPOCH_B: &str = "1700000002";

    /// Runs `dist ARGS` (epoch B) in its own process group; with `interrupt`, SIGINT goes to the
    /// group that long after the packing phase starts (its `==> pack` line). Returns the exit
    /// status, the time from that line to the exit, and stderr.
    fn packing_run(
        ctx: &Ctx,
        args: &[&str],
        interrupt: Option<Duration>,
    ) -> Result<(ExitStatus, Duration, String)> {
        use std::io::{BufRead, BufReader};
        use std::os::unix::process::CommandExt;

        let mut child = Command::new(&ctx.xtask)
            .arg("dist")
            .args(args)
            .env("SOURCE_DATE_EPOCH", EPOCH_B)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .context("starting cargo xtask dist")?;
        let stderr = child.stderr.take().context("piped stderr")?;
        let (packing, started) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with("==> pack") {
                    let _ = packing.send(Instant::now());
                }
                log.push_str(&line);
                log.push('\n');
            }
            log
        });
        let Ok(start) = started.recv_timeout(Duration::from_secs(300)) else {
            let status = wait_with_timeout(&mut child, Duration::from_secs(30))?;
            let log = reader.join().unwrap_or_default();
            bail!("dist ({status}) never reached its `==> pack` line:\n{log}");
        };
        if let Some(delay) = interrupt {
            std::thread::sleep(delay.saturating_sub(start.elapsed()));
            let pgid = i32::try_from(child.id()).context("pid out of range")?;
            // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
            // It fails harmlessly (ESRCH) when the run already finished.
            unsafe { libc::kill(-pgid, libc::SIGINT) };
        }
        let status = wait_with_timeout(&mut child, Duration::from_secs(60))?;
        let took = start.elapsed();
        let log = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the stderr reader panicked"))?;
        Ok((status, took, log))
    }

    /// Puts exactly `files` back into `dir`.
    fn restore(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
        for entry in fs::read_dir(dir)? {
            fs::remove_file(entry?.path())?;
        }
        for (name, bytes) in files {
            fs::write(dir.join(name), bytes)?;
        }
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

    fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> Result<ExitStatus> {
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
}
