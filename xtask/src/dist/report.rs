//! What `dist` tells people (stderr lines and a summary table) and machines (`--json` on stdout).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::checksums::{Manifest, ManifestEntry};
use crate::config::Config;
use crate::target::{Host, Target};
use crate::util::human_size;
use crate::wheel::Version;

/// One target's result, for the summary and `--json`: its manifest entry, plus how it went.
#[derive(Debug, Clone, Serialize)]
pub struct TargetOutcome {
    #[serde(flatten)]
    pub entry: ManifestEntry,
    pub binary_size: u64,
    pub build_seconds: f64,
    pub pack_seconds: f64,
    /// False when the wheel already existed with these exact bytes.
    pub written: bool,
    /// True when the arm64 binary was re-signed ad hoc after linking.
    pub resigned: bool,
}

#[derive(Serialize)]
struct PlanJson<'a> {
    version: &'a Version,
    host: &'a Host,
    out: &'a Path,
    targets: &'a [Target],
}

/// `dist --plan`: what would be built, how, and where it would go.
pub fn print_plan(
    cfg: &Config,
    host: &Host,
    targets: &[Target],
    out: &Path,
    json: bool,
) -> Result<()> {
    if json {
        let plan = PlanJson {
            version: &cfg.version,
            host,
            out,
            targets,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).context("serializing the plan")?
        );
        return Ok(());
    }
    announce(cfg, host, targets, out);
    for t in targets {
        println!("{}", t.triple);
        println!("  build      {} --target {}", t.builder, t.cargo_target);
        for (k, v) in &t.env {
            println!("  env        {k}={v}");
        }
        println!("  binary     {}", t.binary_path.display());
        println!("  wheel      {}", t.wheel);
        println!("  in wheel   {} (mode 0o755)", t.binary_in_wheel);
        let e = &t.expectation;
        let arches: Vec<String> = e.arches.iter().map(|a| format!("{a:?}")).collect();
        let mut facts = vec![format!("{:?} {}", e.format, arches.join("+"))];
        if let Some(g) = e.max_glibc {
            facts.push(format!("GLIBC <= {g}"));
        }
        if let Some(m) = e.max_macos {
            facts.push(format!("minos <= {m}"));
        }
        if e.needs_code_signature {
            facts.push("valid code signature".into());
        }
        println!("  expects    {}", facts.join(", "));
    }
    Ok(())
}

/// The opening lines: version, host, one line per target, and every fallback said out loud.
pub fn announce(cfg: &Config, host: &Host, targets: &[Target], out: &Path) {
    eprintln!(
        "==> dist {} on {}: {} target(s) into {}",
        cfg.version,
        host.triple,
        targets.len(),
        out.display()
    );
    for t in targets {
        eprintln!(
            "    {:<26} {:<6} {}",
            t.triple, t.builder, t.wheel.tags.platform
        );
    }
    for note in targets.iter().filter_map(|t| t.fallback_note.as_deref()) {
        eprintln!("    note: {note}");
    }
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    version: &'a Version,
    commit: Option<&'a str>,
    out: &'a Path,
    seconds: f64,
    targets: &'a [TargetOutcome],
    manifest: &'a Manifest,
}

/// The closing table (stderr), or the JSON document (stdout) with `--json`.
pub fn summary(
    manifest: &Manifest,
    outcomes: &[TargetOutcome],
    out: &Path,
    elapsed: Duration,
    json: bool,
) -> Result<()> {
    if json {
        let doc = SummaryJson {
            version: &manifest.version,
            commit: manifest.commit.as_deref(),
            out,
            seconds: elapsed.as_secs_f64(),
            targets: outcomes,
            manifest,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).context("serializing the summary")?
        );
        return Ok(());
    }
    let wheel_width = manifest
        .artifacts
        .iter()
        .map(|a| a.file().len())
        .max()
        .unwrap_or(5);
    eprintln!();
    eprintln!(
        "{:<26} {:<43} {:<wheel_width$} {:>8} {:<12} {:>7} {:>7}",
        "target", "tag", "wheel", "size", "sha256", "build s", "pack ms"
    );
    for o in outcomes {
        let e = &o.entry;
        eprintln!(
            "{:<26} {:<43} {:<wheel_width$} {:>8} {:<12} {:>7.1} {:>7.0}{}",
            e.target.as_deref().unwrap_or_default(),
            e.tag().unwrap_or_default(),
            e.file(),
            human_size(e.size),
            &e.sha256[..12],
            o.build_seconds,
            o.pack_seconds * 1000.0,
            if o.resigned { "  (re-signed)" } else { "" }
        );
    }
    // Artifacts this run did not build: the sdist, assembled or earlier-run wheels.
    for a in manifest
        .artifacts
        .iter()
        .filter(|a| !outcomes.iter().any(|o| o.entry.kind == a.kind))
    {
        eprintln!(
            "{:<26} {:<43} {:<wheel_width$} {:>8} {:<12}",
            a.target.as_deref().unwrap_or("(sdist)"),
            a.tag().unwrap_or_default(),
            a.file(),
            human_size(a.size),
            &a.sha256[..12]
        );
    }
    eprintln!(
        "\n==> {} artifact(s) in {} verified in {:.1} s (SHA256SUMS, dist-manifest.json); nothing was published",
        manifest.artifacts.len(),
        out.display(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
