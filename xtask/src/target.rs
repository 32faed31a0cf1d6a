//! One `Target` per release triple: builder, environment, binary path, wheel name, tags and the
//! binary facts those tags promise — all derived here, in one place, from the config and the host.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::config::Config;
use crate::flags::Builder;
use crate::wheel::{Arch, BinaryExpectation, Os, PlatformTag, Version2, WheelFilename};

/// The builder a target actually uses (`auto` resolved).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum BuilderKind {
    /// `cargo zigbuild`: zig links every target, with a glibc floor for Linux.
    Zig,
    /// `cross build`: a Docker image per target (CI, where Docker runs).
    Cross,
    /// Plain `cargo build` with the host's own linker.
    Native,
}

impl fmt::Display for BuilderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            BuilderKind::Zig => "zig",
            BuilderKind::Cross => "cross",
            BuilderKind::Native => "native",
        })
    }
}

/// The parts of a Rust target triple this project distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triple {
    pub arch: Arch,
    pub os: Os,
    pub msvc: bool,
    /// Linked against musl, statically (Rust's musl targets default to `+crt-static`).
    pub musl: bool,
}

/// Triple endings this project packs: (ending, os, msvc, musl).
const ENVIRONMENTS: [(&str, Os, bool, bool); 6] = [
    ("-unknown-linux-gnu", Os::Linux, false, false),
    ("-unknown-linux-musl", Os::Linux, false, true),
    ("-apple-darwin", Os::Macos, false, false),
    ("-pc-windows-msvc", Os::Windows, true, false),
    ("-pc-windows-gnu", Os::Windows, false, false),
    ("-pc-windows-gnullvm", Os::Windows, false, false),
];

impl Triple {
    pub fn parse(triple: &str) -> Result<Triple> {
        let arch = match triple.split('-').next() {
            Some("x86_64") => Arch::X86_64,
            Some("aarch64") => Arch::Aarch64,
            _ => bail!("target `{triple}`: unsupported architecture (x86_64 and aarch64 are)"),
        };
        let Some(&(_, os, msvc, musl)) =
            ENVIRONMENTS.iter().find(|(end, ..)| triple.ends_with(end))
        else {
            bail!("target `{triple}` is not one this project packs (linux-gnu/musl, apple-darwin, windows-msvc/gnu/gnullvm)")
        };
        Ok(Triple {
            arch,
            os,
            msvc,
            musl,
        })
    }
}

/// The machine that builds: its Rust host triple.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Host {
    pub triple: String,
    #[serde(skip)]
    pub os: Os,
}

impl Host {
    pub fn new(triple: &str) -> Result<Host> {
        let os = Triple::parse(triple)
            .with_context(|| format!("host `{triple}`"))?
            .os;
        Ok(Host {
            triple: triple.to_string(),
            os,
        })
    }

    /// The host rustc reports (`rustc -vV`).
    pub fn detect(sh: &Shell) -> Result<Host> {
        let out = cmd!(sh, "rustc -vV")
            .quiet()
            .read()
            .context("asking rustc for the host triple")?;
        let triple = out
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .context("`rustc -vV` printed no `host:` line")?;
        Host::new(triple.trim())
    }
}

/// Everything about one release target, derived once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Target {
    /// The release triple named in the config (`x86_64-pc-windows-msvc`).
    pub triple: String,
    /// What is compiled on this host (the declared fallback when `triple` cannot link here).
    pub build_triple: String,
    /// Why `build_triple` differs from `triple`, said out loud.
    pub fallback_note: Option<String>,
    pub builder: BuilderKind,
    /// The `--target` argument (`x86_64-unknown-linux-gnu.2.17` for zig's glibc floor).
    pub cargo_target: String,
    /// Variables this target's compiler and linker must see (`MACOSX_DEPLOYMENT_TARGET`).
    pub env: BTreeMap<String, String>,
    /// The Mach-O minimum OS, for per-target linker set-up.
    pub macos_min: Option<Version2>,
    pub binary_path: PathBuf,
    /// `mcp_sidecar/_native/mcp-sidecar[.exe]` inside the wheel.
    pub binary_in_wheel: String,
    pub wheel: WheelFilename,
    pub expectation: BinaryExpectation,
    pub runner: Option<String>,
    /// Unique CI artifact name for this target's outputs.
    pub artifact: String,
    /// Whether this target compiles for the build host's own triple. cargo hashes the host-side
    /// units (build scripts, proc macros) differently when the host's triple is a `--target`, and
    /// those hashes reach every binary of the invocation: so this target is built on its own.
    pub is_host_triple: bool,
}

impl Target {
    pub fn derive(cfg: &Config, triple: &str, host: &Host, requested: Builder) -> Result<Target> {
        let release = Triple::parse(triple)?;
        let (build_triple, fallback_note) = resolve_fallback(cfg, triple, release, host)?;
        let built = Triple::parse(&build_triple)?;
        let builder = resolve_builder(requested, &build_triple, built, host)?;
        let floor = cfg.dist.glibc_floor;
        let macos_min = match release.os {
            Os::Macos => Some(cfg.dist.macos_deployment_target(release.arch)?),
            _ => None,
        };
        let tags = platform_tags(release, floor, macos_min)?;
        let expectation = tags[0].expectation();
        let cargo_target = match (builder, built.os) {
            (BuilderKind::Zig, Os::Linux) if !built.musl => format!("{build_triple}.{floor}"),
            _ => build_triple.clone(),
        };
        let mut env = BTreeMap::new();
        if let Some(min) = macos_min {
            env.insert("MACOSX_DEPLOYMENT_TARGET".to_string(), min.to_string());
        }
        let exe = format!("{}{}", cfg.dist.binary, expectation.exe_suffix);
        let is_host_triple = build_triple == host.triple;
        Ok(Target {
            triple: triple.to_string(),
            binary_path: cfg
                .target_dir
                .join(&build_triple)
                .join("release")
                .join(&exe),
            binary_in_wheel: format!("{}/{}/{exe}", cfg.dist.python_package, cfg.dist.native_dir),
            build_triple,
            fallback_note,
            builder,
            cargo_target,
            env,
            macos_min,
            wheel: WheelFilename::new(&cfg.name, &cfg.version, tags),
            expectation,
            runner: cfg.dist.runners.get(triple).cloned(),
            artifact: format!("dist-{triple}"),
            is_host_triple,
        })
    }

    /// zig's target for a Mach-O with this target's minimum OS (`aarch64-macos.11.0-none`).
    pub fn zig_macos_target(&self) -> Option<String> {
        let min = self.macos_min?;
        let arch = Triple::parse(&self.build_triple).ok()?.arch.triple_name();
        Some(format!("{arch}-macos.{min}-none"))
    }
}

/// Every configured target (or the `--target` subset, in config order) for this host.
pub fn plan(cfg: &Config, host: &Host, only: &[String], builder: Builder) -> Result<Vec<Target>> {
    for wanted in only {
        if !cfg.dist.targets.contains(wanted) {
            bail!(
                "`{wanted}` is not a release target; [workspace.metadata.dist] targets: {}",
                cfg.dist.targets.join(", ")
            );
        }
    }
    cfg.dist
        .targets
        .iter()
        .filter(|t| only.is_empty() || only.contains(t))
        .map(|t| Target::derive(cfg, t, host, builder))
        .collect()
}

/// msvc links only where the Microsoft SDK is, i.e. on Windows; elsewhere the declared fallback.
fn resolve_fallback(
    cfg: &Config,
    triple: &str,
    release: Triple,
    host: &Host,
) -> Result<(String, Option<String>)> {
    if !release.msvc || host.os == Os::Windows {
        return Ok((triple.to_string(), None));
    }
    let Some(fallback) = cfg.dist.fallback.get(triple) else {
        bail!(
            "{triple} cannot be linked on {} (no Microsoft SDK) and [workspace.metadata.dist.fallback] names no fallback for it",
            host.triple
        );
    };
    let note = format!(
        "{triple} cannot be linked on {} (no Microsoft SDK): building the declared fallback {fallback}, which may import only system DLLs (`check` verifies it)",
        host.triple
    );
    Ok((fallback.clone(), Some(note)))
}

fn resolve_builder(
    requested: Builder,
    build_triple: &str,
    built: Triple,
    host: &Host,
) -> Result<BuilderKind> {
    let kind = match requested {
        Builder::Auto => match built.os {
            // A glibc floor below the host's needs zig's versioned glibc stubs.
            Os::Linux => BuilderKind::Zig,
            Os::Macos if host.os == Os::Macos => BuilderKind::Native,
            Os::Windows if host.os == Os::Windows => BuilderKind::Native,
            _ => BuilderKind::Zig,
        },
        Builder::Zig => BuilderKind::Zig,
        Builder::Cross => BuilderKind::Cross,
        Builder::Native => BuilderKind::Native,
    };
    match kind {
        BuilderKind::Zig if built.msvc => {
            bail!("zig cannot link {build_triple} (it needs the Microsoft SDK); use --builder native on Windows")
        }
        BuilderKind::Cross if built.os == Os::Macos || built.msvc => {
            bail!("cross has no image for {build_triple}; use --builder zig or native")
        }
        BuilderKind::Native if built.os == Os::Macos && host.os != Os::Macos => {
            bail!("--builder native cannot link {build_triple} on {}: there is no Apple linker here; use --builder zig", host.triple)
        }
        BuilderKind::Native if built.os == Os::Linux && host.os != Os::Linux => {
            bail!(
                "--builder native cannot link {build_triple} on {}; use --builder zig",
                host.triple
            )
        }
        _ => Ok(kind),
    }
}

/// The musl inside Rust's self-contained musl targets (1.2.3 since Rust 1.71), linked statically.
const MUSL: Version2 = Version2::new(1, 2);

/// The wheel's platform tags: what pip on that platform will accept, and what PyPI allows.
fn platform_tags(
    t: Triple,
    floor: Version2,
    macos_min: Option<Version2>,
) -> Result<Vec<PlatformTag>> {
    let tags = match t.os {
        Os::Linux if t.musl => vec![PlatformTag::Musllinux {
            musl: MUSL,
            arch: t.arch,
        }],
        Os::Linux => {
            let mut tags = vec![PlatformTag::Manylinux {
                glibc: floor,
                arch: t.arch,
                legacy: false,
            }];
            // PEP 599's alias keeps pip < 20.3 installing the wheel.
            if floor == Version2::new(2, 17) {
                tags.push(PlatformTag::Manylinux {
                    glibc: floor,
                    arch: t.arch,
                    legacy: true,
                });
            }
            tags
        }
        Os::Macos => {
            let version = macos_min.context("macOS target without a deployment target")?;
            vec![PlatformTag::Macos {
                version,
                arch: t.arch,
            }]
        }
        Os::Windows => vec![PlatformTag::Windows { arch: t.arch }],
        Os::Ios | Os::Android => bail!("no wheel tags for {:?} targets", t.os),
    };
    for tag in &tags {
        if let Some(refusal) = tag.pypi_refusal() {
            bail!("{refusal} (check [workspace.metadata.dist] in Cargo.toml)");
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::load().unwrap()
    }

    fn linux() -> Host {
        Host::new("x86_64-unknown-linux-gnu").unwrap()
    }

    #[test]
    fn linux_host_plan_matches_the_design_table() {
        let cfg = cfg();
        let targets = plan(&cfg, &linux(), &[], Builder::Auto).unwrap();
        let by = |t: &str| targets.iter().find(|x| x.triple == t).unwrap();

        let l = by("x86_64-unknown-linux-gnu");
        assert_eq!(l.builder, BuilderKind::Zig);
        assert_eq!(l.cargo_target, "x86_64-unknown-linux-gnu.2.17");
        assert_eq!(
            l.wheel.to_string(),
            "mcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
                .replace("0.1.0", &cfg.version.to_string())
        );
        assert!(l.env.is_empty());

        let x = by("x86_64-apple-darwin");
        assert_eq!(x.wheel.tags.platform.to_string(), "macosx_10_12_x86_64");
        assert_eq!(x.env["MACOSX_DEPLOYMENT_TARGET"], "10.12");
        assert_eq!(x.zig_macos_target().unwrap(), "x86_64-macos.10.12-none");

        let a = by("aarch64-apple-darwin");
        assert_eq!(a.wheel.tags.platform.to_string(), "macosx_11_0_arm64");
        assert!(a.expectation.needs_code_signature);
        assert_eq!(a.zig_macos_target().unwrap(), "aarch64-macos.11.0-none");

        let w = by("x86_64-pc-windows-msvc");
        assert_eq!(w.build_triple, "x86_64-pc-windows-gnu");
        assert!(w.fallback_note.as_deref().unwrap().contains("fallback"));
        assert!(w
            .binary_path
            .ends_with("x86_64-pc-windows-gnu/release/mcp-sidecar.exe"));
        assert_eq!(w.binary_in_wheel, "mcp_sidecar/_native/mcp-sidecar.exe");
        assert_eq!(w.wheel.tags.platform.to_string(), "win_amd64");

        let arm = by("aarch64-unknown-linux-gnu");
        assert_eq!(arm.cargo_target, "aarch64-unknown-linux-gnu.2.17");
        assert_eq!(
            arm.wheel.tags.platform.to_string(),
            "manylinux_2_17_aarch64.manylinux2014_aarch64"
        );
        for (triple, tag) in [
            ("x86_64-unknown-linux-musl", "musllinux_1_2_x86_64"),
            ("aarch64-unknown-linux-musl", "musllinux_1_2_aarch64"),
        ] {
            let m = by(triple);
            assert_eq!(
                (m.builder, m.cargo_target.as_str()),
                (BuilderKind::Zig, triple)
            );
            assert_eq!(m.wheel.tags.platform.to_string(), tag);
            assert!(m.expectation.musl && m.expectation.max_glibc.is_none());
        }
        let wa = by("aarch64-pc-windows-msvc");
        assert_eq!(
            (wa.build_triple.as_str(), wa.builder),
            ("aarch64-pc-windows-gnullvm", BuilderKind::Zig)
        );
        assert!(wa.fallback_note.as_deref().unwrap().contains("fallback"));
        assert_eq!(wa.wheel.tags.platform.to_string(), "win_arm64");
    }

    #[test]
    fn native_runners_need_no_fallback() {
        let cfg = cfg();
        let win = Host::new("x86_64-pc-windows-msvc").unwrap();
        let t = Target::derive(&cfg, "x86_64-pc-windows-msvc", &win, Builder::Auto).unwrap();
        assert_eq!(
            (t.build_triple.as_str(), t.builder),
            ("x86_64-pc-windows-msvc", BuilderKind::Native)
        );
        let mac = Host::new("aarch64-apple-darwin").unwrap();
        let t = Target::derive(&cfg, "x86_64-apple-darwin", &mac, Builder::Auto).unwrap();
        assert_eq!(t.builder, BuilderKind::Native);
        assert_eq!(t.cargo_target, "x86_64-apple-darwin");
    }

    #[test]
    fn impossible_builders_say_why() {
        let cfg = cfg();
        let err =
            Target::derive(&cfg, "aarch64-apple-darwin", &linux(), Builder::Native).unwrap_err();
        assert!(err.to_string().contains("no Apple linker"), "{err}");
        let err =
            Target::derive(&cfg, "aarch64-apple-darwin", &linux(), Builder::Cross).unwrap_err();
        assert!(err.to_string().contains("cross"), "{err}");
        let err = plan(
            &cfg,
            &linux(),
            &["riscv64gc-unknown-linux-gnu".into()],
            Builder::Auto,
        )
        .unwrap_err();
        assert!(err.to_string().contains("riscv64gc"), "{err}");
    }

    #[test]
    fn macos_11_plus_tags_must_have_minor_zero() {
        let t = Triple::parse("aarch64-apple-darwin").unwrap();
        let err = platform_tags(t, Version2::new(2, 17), Some(Version2::new(11, 3))).unwrap_err();
        assert!(err.to_string().contains("macosx_11_0_arm64"), "{err}");
    }

    #[test]
    fn triples_parse() {
        assert!(Triple::parse("x86_64-pc-windows-msvc").unwrap().msvc);
        assert_eq!(
            Triple::parse("aarch64-apple-darwin").unwrap().arch,
            Arch::Aarch64
        );
        let musl = Triple::parse("aarch64-unknown-linux-musl").unwrap();
        assert!(musl.musl && musl.os == Os::Linux);
        let gnullvm = Triple::parse("aarch64-pc-windows-gnullvm").unwrap();
        assert!(gnullvm.os == Os::Windows && !gnullvm.msvc);
        assert!(Triple::parse("x86_64-unknown-linux-uclibc").is_err());
    }
}
