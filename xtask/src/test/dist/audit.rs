//! The dependency list inside every binary (cargo-auditable's `.dep-v0`, in ELF, PE and both
//! Mach-O files), read by cargo-auditable's own reader `rust-audit-info` (crates.io, pinned): its
//! runtime packages are exactly the crates the SBOM lists for that target, at the lockfile's
//! versions — apart from proc macros and the crates only they use, which cargo-auditable may
//! count as runtime (a normal dependency) while the SBOM leaves them out (no code in the binary).

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
        let compile_time = proc_macro_closure(ctx, triple)?;
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
            .filter(|p| !compile_time.contains(p))
            .collect();
        let listed: BTreeSet<(String, String)> = expected
            .get(triple)
            .with_context(|| format!("no crate list for {triple}"))?
            .iter()
            .filter(|c| !c.build_only)
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect();
        let leaked: Vec<_> = listed.intersection(&compile_time).collect();
        ensure!(
            leaked.is_empty(),
            "{tag}: the SBOM lists compile-time-only crates: {leaked:?}"
        );
        ensure!(
            embedded == listed,
            "{tag}: the binary's dependency list and the SBOM's crates differ\n  only in the binary: {:?}\n  only in the SBOM: {:?}",
            embedded.difference(&listed).collect::<Vec<_>>(),
            listed.difference(&embedded).collect::<Vec<_>>()
        );
        let tokio = embedded.iter().find(|(n, _)| n == "tokio").map(|(_, v)| v);
        eprintln!(
            "    {tag:<44} {} runtime crates (tokio {}) = the SBOM's",
            embedded.len(),
            tokio.map_or("missing", String::as_str)
        );
    }
    Ok(())
}

/// Crates the sidecar's normal dependencies for `triple` reach only through a proc macro (or
/// not at all).
fn proc_macro_closure(ctx: &Ctx, triple: &str) -> Result<BTreeSet<(String, String)>> {
    let cfgs = crate::sbom::rustc_cfg(triple)?;
    let metadata = cargo_metadata::MetadataCommand::new()
        .current_dir(&ctx.cfg.workspace_root)
        .exec()
        .context("cargo metadata")?;
    let resolve = metadata.resolve.as_ref().context("no resolve graph")?;
    let is_macro =
        |id: &cargo_metadata::PackageId| metadata[id].targets.iter().any(|t| t.is_proc_macro());
    let deps_of = |id: &cargo_metadata::PackageId| -> Vec<cargo_metadata::PackageId> {
        resolve
            .nodes
            .iter()
            .find(|n| n.id == *id)
            .map(|n| {
                n.deps
                    .iter()
                    .filter(|d| {
                        d.dep_kinds.iter().any(|k| {
                            k.kind == cargo_metadata::DependencyKind::Normal
                                && k.target.as_ref().is_none_or(|p| p.matches(triple, &cfgs))
                        })
                    })
                    .map(|d| d.pkg.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    // Reachable through normal dependencies without passing through a proc macro: they run.
    let root = metadata
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == ctx.cfg.dist.package)
        .context("the sidecar package")?
        .id
        .clone();
    let mut runtime = BTreeSet::from([root.clone()]);
    let mut queue = vec![root];
    while let Some(id) = queue.pop() {
        for dep in deps_of(&id) {
            if !is_macro(&dep) && runtime.insert(dep.clone()) {
                queue.push(dep);
            }
        }
    }
    let label = |id: &cargo_metadata::PackageId| {
        let p = &metadata[id];
        (p.name.to_string(), p.version.to_string())
    };
    let runtime: BTreeSet<(String, String)> = runtime.iter().map(label).collect();
    Ok(metadata
        .packages
        .iter()
        .map(|p| label(&p.id))
        .filter(|p| !runtime.contains(p))
        .collect())
}
