//! What the verifiable-release work adds to a warm `dist` and to each binary, measured on the
//! dist/ that `bench dist` just primed: the SBOM resolution, the SBOM and dependency-list rule of
//! `check`, the path remapping's probe, and Authenticode signing with a throwaway certificate
//! (in process, median of 3 each); and per binary the `.dep-v0` section and the signature bytes.
//! What remapping and cargo-auditable do to a binary's size against a plain build is `dist-cold`'s
//! table (its separate zigbuild runs use neither).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use xshell::Shell;

use super::median;
use crate::check::Payload;
use crate::config::Config;
use crate::sign::{throwaway::Throwaway, Pkcs12, Signer};
use crate::target::Target;
use crate::verify_release::diff::Container;
use crate::wheel::BinaryFormat;

/// The seconds each added step takes, and the bytes each adds per binary.
pub struct Added {
    pub steps: Vec<(&'static str, Duration)>,
    /// (wheel, binary bytes, `.dep-v0` bytes, signature bytes for a PE).
    pub sizes: Vec<(String, usize, usize, Option<usize>)>,
}

impl Added {
    pub fn total(&self) -> Duration {
        self.steps.iter().map(|(_, d)| *d).sum()
    }
}

pub fn measure(sh: &Shell, cfg: &Config, targets: &[Target], dist: &Path) -> Result<Added> {
    let payload = Payload::of(cfg);
    let wheels: Vec<(String, BTreeMap<String, Vec<u8>>)> = targets
        .iter()
        .map(|t| {
            Ok((
                t.wheel.to_string(),
                members(&dist.join(t.wheel.to_string()))?,
            ))
        })
        .collect::<Result<_>>()?;
    let sbom = timed(|| crate::sbom::Sboms::resolve(cfg, targets).map(drop))?;
    let rule = timed(|| {
        for (t, (name, members)) in targets.iter().zip(&wheels) {
            let mut findings = Vec::new();
            crate::check::sbom_rule(
                &format!("{}/", t.wheel.dist_info_dir()),
                &payload,
                |m| members.contains_key(m),
                |m| members.get(m).map(Vec::as_slice),
                &mut findings,
            );
            anyhow::ensure!(findings.is_empty(), "{name}: {findings:?}");
        }
        Ok(())
    })?;
    let remap = timed(|| crate::build::remap::Remap::detect(sh, cfg).map(drop))?;
    let cert = Throwaway::make("bench")?;
    let signer = Signer::new(
        Pkcs12::File(cert.pkcs12()),
        crate::sign::throwaway::PASSWORD,
        None,
    )?;
    let mut sizes = Vec::new();
    let mut signing = Duration::ZERO;
    for (t, (name, members)) in targets.iter().zip(&wheels) {
        let binary = members
            .get(&t.binary_in_wheel)
            .with_context(|| format!("{name} has no {}", t.binary_in_wheel))?;
        let dep_list = crate::check::dep_list_section(binary)
            .with_context(|| format!("{name}: the binary has no .dep-v0 section"))?
            .len();
        let signature = if t.expectation.format == BinaryFormat::Pe {
            let mut signed = 0;
            signing += timed(|| {
                signed = signer
                    .sign_pe(sh, binary, "mcp-sidecar", 1_700_000_000)?
                    .len();
                Ok(())
            })?;
            Some(signed.saturating_sub(binary.len()))
        } else {
            None
        };
        sizes.push((name.clone(), binary.len(), dep_list, signature));
    }
    Ok(Added {
        steps: vec![
            ("SBOM resolution (cargo metadata, every target)", sbom),
            ("check: SBOM + dependency-list rule, every wheel", rule),
            ("remap: probing the sysroot", remap),
            ("Authenticode signing, every PE", signing),
        ],
        sizes,
    })
}

/// The median of three runs of `f`.
fn timed(mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut runs = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        f()?;
        runs.push(start.elapsed());
    }
    Ok(median(runs))
}

fn members(wheel: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let bytes = std::fs::read(wheel).with_context(|| format!("reading {}", wheel.display()))?;
    crate::verify_release::diff::members(Container::Zip, &bytes)
        .with_context(|| format!("reading {}", wheel.display()))?
        .into_iter()
        .map(|m| {
            let content = m
                .bytes
                .map_err(|why| anyhow::anyhow!("{}: {}: {why}", wheel.display(), m.name))?;
            Ok((m.name, content))
        })
        .collect()
}
