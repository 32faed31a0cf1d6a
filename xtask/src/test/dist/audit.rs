//! The dependency list inside every binary (cargo-auditable's `.dep-v0`, in ELF, PE and both
//! Mach-O files), read by cargo-auditable's own reader `rust-audit-info` (crates.io, pinned): its
//! runtime packages are exactly the crates the SBOM lists for that target, at the lockfile's
//! versions.

use std::collections::BTreeSet;
use std::fs;

use anyhow::{ensure, Context, Result};
use serde::Deserialize;
use xshell::cmd;

use super::{native_binary, Ctx, ALL_TAGS};
use crate::checksums;

/// What `rust-audit-info` prints (auditable-serde's format): only the fields compared here.
#[derive(Deserialize)]
struct AuditInfo {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    /// `build` for build-time-only crates (proc macros, build scripts' deps); absent = runtime.
    #[serde(default)]
    kind: Option<String>,
}

pub fn run(ctx: &Ctx) -> Result<()> {
    let reader = crate::toolchain::ensure_cargo_tool(
        ctx.sh,
        &ctx.cfg.target_dir,
        crate::toolchain::RUST_AUDIT_INFO,
    )?;
    let manifest = checksums::read_manifest(&ctx.out)?.context("dist/ has no manifest")?;
    let triples: Vec<String> = manifest
        .artifacts
        .iter()
        .filter_map(|a| a.build_target.clone().or_else(|| a.target.clone()))
        .collect();
    let triple_refs: Vec<&str> = triples.iter().map(String::as_str).collect();
    let expected = crate::sbom::crates_by_triple(ctx.cfg, &triple_refs)?;
    let scratch = ctx.fresh_dir("audit")?;
    for tag in ALL_TAGS {
        let entry = manifest
            .artifacts
            .iter()
            .find(|a| a.tag().as_deref() == Some(tag))
            .with_context(|| format!("no {tag} wheel in the manifest"))?;
        let triple = entry
            .build_target
            .as_ref()
            .or(entry.target.as_ref())
            .context("a wheel without a target")?;
        let binary = scratch.join(format!("{triple}.bin"));
        fs::write(&binary, native_binary(&fs::read(ctx.wheel_path(tag))?)?)?;
        let json = cmd!(ctx.sh, "{reader} {binary}")
            .quiet()
            .read()
            .with_context(|| format!("rust-audit-info could not read the {tag} binary"))?;
        let info: AuditInfo = serde_json::from_str(&json)
            .with_context(|| format!("rust-audit-info's output for {tag}"))?;
        let embedded: BTreeSet<(String, String)> = info
            .packages
            .into_iter()
            .filter(|p| p.kind.as_deref().unwrap_or("runtime") == "runtime")
            .map(|p| (p.name, p.version))
            .collect();
        let listed: BTreeSet<(String, String)> = expected
            .get(triple)
            .with_context(|| format!("no crate list for {triple}"))?
            .iter()
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect();
        ensure!(
            embedded == listed,
            "{tag}: the binary's dependency list and the SBOM's crates differ\n  only in the binary: {:?}\n  only in the SBOM: {:?}",
            embedded.difference(&listed).collect::<Vec<_>>(),
            listed.difference(&embedded).collect::<Vec<_>>()
        );
        let tokio = embedded.iter().find(|(n, _)| n == "tokio").map(|(_, v)| v);
        eprintln!(
            "    {tag:<44} {} runtime crates (tokio {}), = the SBOM's",
            embedded.len(),
            tokio.map_or("missing", String::as_str)
        );
    }
    Ok(())
}
