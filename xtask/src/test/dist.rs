//! Suite `dist`: runs the real main job (`cargo xtask dist`, every target, toolchain bootstrap
//! included), then proves what it wrote: checksums and manifest, the binary facts per tag, pip's
//! own tag selection, installs on Python 3.7 and 3.13 (wheel, musl wheel and sdist), the Linux
//! aarch64 and musl binaries under qemu-user or natively, the Windows x64 binary under wine,
//! byte-for-byte reproducibility and an interrupted run that leaves nothing.

mod audit;
mod emulated;
mod install;
mod interrupt;
mod reproducible;
mod signed;
pub(crate) mod wine;

use std::fs;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::checksums::{self, Manifest};
use crate::config::Config;
use crate::wheel::Version2;

/// What every step shares.
pub struct Ctx<'a> {
    pub sh: &'a Shell,
    /// This very xtask binary: `dist` runs as a child process, exactly as a user runs it.
    pub xtask: PathBuf,
    pub cfg: &'a Config,
    pub out: PathBuf,
    /// Scratch space for venvs, downloads and extra dist runs (under target/).
    pub scratch: PathBuf,
}

impl Ctx<'_> {
    /// `mcp_sidecar-<v>-py3-none-<tag>.whl`, spelled as the design fixes it.
    pub fn wheel_name(&self, tag: &str) -> String {
        format!("mcp_sidecar-{}-py3-none-{tag}.whl", self.cfg.version)
    }

    pub fn wheel_path(&self, tag: &str) -> PathBuf {
        self.out.join(self.wheel_name(tag))
    }

    pub fn sdist_path(&self) -> PathBuf {
        self.out
            .join(format!("mcp_sidecar-{}.tar.gz", self.cfg.version))
    }

    /// A clean scratch folder for one step.
    pub fn fresh_dir(&self, name: &str) -> Result<PathBuf> {
        super::fresh_dir(&self.scratch.join(name))
    }
}

pub const LINUX_TAG: &str = "manylinux_2_17_x86_64.manylinux2014_x86_64";
pub const MAC_X64_TAG: &str = "macosx_10_12_x86_64";
pub const MAC_ARM_TAG: &str = "macosx_11_0_arm64";
pub const WIN_TAG: &str = "win_amd64";
pub const LINUX_ARM_TAG: &str = "manylinux_2_17_aarch64.manylinux2014_aarch64";
pub const MUSL_X64_TAG: &str = "musllinux_1_2_x86_64";
pub const MUSL_ARM_TAG: &str = "musllinux_1_2_aarch64";
pub const WIN_ARM_TAG: &str = "win_arm64";
pub const ALL_TAGS: [&str; 8] = [
    LINUX_TAG,
    MAC_X64_TAG,
    MAC_ARM_TAG,
    WIN_TAG,
    LINUX_ARM_TAG,
    MUSL_X64_TAG,
    MUSL_ARM_TAG,
    WIN_ARM_TAG,
];

pub fn run(sh: &Shell, cfg: &Config) -> Result<()> {
    let root = crate::project_root();
    let ctx = Ctx {
        sh,
        xtask: crate::util::self_exe()?,
        cfg,
        out: root.join("dist"),
        scratch: root.join("target/dist-test"),
    };
    step("the main job: cargo xtask dist (every target, sdist, checksums, check)");
    let summary = run_dist(&ctx, &[], &[])?;
    step("outputs: files, SHA256SUMS, dist-manifest.json");
    outputs(&ctx, &summary)?;
    step("binary facts per tag (check module + exact minos, GLIBC, PE imports)");
    binary_facts(&ctx)?;
    step("the dependency list in every binary (rust-audit-info) = the SBOM's crates");
    audit::run(&ctx)?;
    step("pip picks exactly the matching wheel for each platform");
    install::tag_selection(&ctx)?;
    step("install the linux wheel on Python 3.7 and 3.13, locate, round trip");
    install::wheel_installs(&ctx)?;
    step("install the musl wheel into a fresh venv, locate, round trip (natively)");
    install::musl_install(&ctx)?;
    step("the Linux aarch64 and musl binaries: --version and a round trip, aarch64 under qemu");
    emulated::run(&ctx)?;
    step("install the sdist (builds from source), locate in scripts, round trip");
    install::sdist_install(&ctx)?;
    step("the Windows binary under wine: --version and a full IPC + MCP round trip");
    wine::run(&ctx)?;
    step("Authenticode: a throwaway certificate signs the Windows binary before packing");
    signed::signed_windows_wheel(&ctx)?;
    step("reproducibility: targets alone = together; another path, CARGO_HOME, HOME, user");
    reproducible::run(&ctx)?;
    step("Ctrl-C while packing leaves no partial file; a rerun finishes");
    interrupt::interrupted_pack(&ctx)?;
    Ok(())
}

fn step(what: &str) {
    eprintln!("\n--- dist: {what}");
}

/// Runs `xtask dist --json ARGS` with extra environment; returns the parsed summary.
pub fn run_dist(ctx: &Ctx, args: &[&str], env: &[(&str, &str)]) -> Result<serde_json::Value> {
    let xtask = &ctx.xtask;
    let mut c = cmd!(ctx.sh, "{xtask} dist --json {args...}");
    for (k, v) in env {
        c = c.env(k, v);
    }
    let stdout = c.read().context("`cargo xtask dist` failed")?;
    serde_json::from_str(&stdout).context("`cargo xtask dist --json` printed no JSON summary")
}

fn outputs(ctx: &Ctx, summary: &serde_json::Value) -> Result<()> {
    let manifest: Manifest =
        checksums::read_manifest(&ctx.out)?.context("dist/ has no dist-manifest.json")?;
    ensure!(
        manifest.version == ctx.cfg.version,
        "manifest version {}",
        manifest.version
    );
    let head = cmd!(ctx.sh, "git rev-parse HEAD").quiet().read().ok();
    ensure!(
        manifest.commit == head,
        "manifest commit {:?}, HEAD is {head:?}",
        manifest.commit
    );
    ensure!(
        summary["manifest"] == serde_json::to_value(&manifest)?,
        "--json printed a different manifest than dist-manifest.json holds"
    );
    let mut expected: Vec<String> = ALL_TAGS.iter().map(|t| ctx.wheel_name(t)).collect();
    expected.push(format!("mcp_sidecar-{}.tar.gz", ctx.cfg.version));
    expected.sort();
    let listed: Vec<String> = manifest.artifacts.iter().map(|a| a.file()).collect();
    ensure!(
        listed == expected,
        "manifest lists {listed:?}, expected {expected:?}"
    );
    for a in &manifest.artifacts {
        let bytes =
            fs::read(ctx.out.join(a.file())).with_context(|| format!("reading {}", a.file()))?;
        ensure!(
            a.size == bytes.len() as u64,
            "{}: size {} in the manifest",
            a.file(),
            a.size
        );
        ensure!(
            a.sha256 == checksums::sha256_hex(&bytes),
            "{}: sha256 differs",
            a.file()
        );
        if a.kind.wheel().is_some() {
            let binary = native_binary(&bytes)?;
            ensure!(
                a.binary_sha256.as_deref() == Some(checksums::sha256_hex(&binary).as_str()),
                "{}: binary_sha256 does not match the binary inside",
                a.file()
            );
            ensure!(
                a.builder == "zig",
                "{}: built with {} on Linux",
                a.file(),
                a.builder
            );
        }
    }
    for (tag, target, fallback) in [
        (WIN_TAG, "x86_64-pc-windows-msvc", "x86_64-pc-windows-gnu"),
        (
            WIN_ARM_TAG,
            "aarch64-pc-windows-msvc",
            "aarch64-pc-windows-gnullvm",
        ),
    ] {
        let win = manifest
            .artifacts
            .iter()
            .find(|a| a.tag().as_deref() == Some(tag))
            .with_context(|| format!("no {tag} artifact"))?;
        ensure!(
            win.target.as_deref() == Some(target) && win.build_target.as_deref() == Some(fallback),
            "the {tag} wheel must record the target {target} and the fallback {fallback} it was built as"
        );
    }
    let sums = fs::read_to_string(ctx.out.join(crate::artifact::SUMS_FILE))?;
    ensure!(
        sums == checksums::sha256sums(&manifest.artifacts),
        "SHA256SUMS does not match the manifest"
    );
    let _dir = ctx.sh.push_dir(&ctx.out);
    cmd!(ctx.sh, "sha256sum --check --strict SHA256SUMS")
        .run()
        .context("sha256sum -c SHA256SUMS")?;
    Ok(())
}

fn binary_facts(ctx: &Ctx) -> Result<()> {
    let paths: Vec<PathBuf> = ALL_TAGS
        .iter()
        .map(|t| ctx.wheel_path(t))
        .chain([ctx.sdist_path()])
        .collect();
    let report = crate::check::check_paths(&paths, None, &crate::check::Payload::of(ctx.cfg))?;
    if !report.is_clean() {
        report.write_human(&mut std::io::stderr())?;
        bail!("`cargo xtask check` has findings for dist/");
    }
    let arm = native_binary(&fs::read(ctx.wheel_path(MAC_ARM_TAG))?)?;
    ensure!(
        macho_minos(&arm)? == Version2::new(11, 0),
        "arm64 minos is not 11.0"
    );
    crate::macho_sign::verify(&arm).map_err(|e| anyhow::anyhow!("arm64 signature: {e}"))?;
    let x64 = native_binary(&fs::read(ctx.wheel_path(MAC_X64_TAG))?)?;
    ensure!(
        macho_minos(&x64)? == Version2::new(10, 12),
        "x86_64 minos is not 10.12"
    );
    let mut glibc = Vec::new();
    for tag in [LINUX_TAG, LINUX_ARM_TAG] {
        let newest = newest_glibc(&native_binary(&fs::read(ctx.wheel_path(tag))?)?)?;
        ensure!(
            newest <= Version2::new(2, 17),
            "{tag}: the ELF needs GLIBC_{newest}"
        );
        glibc.push(newest.to_string());
    }
    for tag in [MUSL_X64_TAG, MUSL_ARM_TAG] {
        let bytes = native_binary(&fs::read(ctx.wheel_path(tag))?)?;
        let elf = goblin::elf::Elf::parse(&bytes).context("parsing the ELF")?;
        ensure!(
            elf.interpreter.is_none() && elf.libraries.is_empty(),
            "{tag}: the musl binary must be static, it has PT_INTERP {:?} and needs {:?}",
            elf.interpreter,
            elf.libraries
        );
    }
    let epoch = checksums::read_manifest(&ctx.out)?
        .and_then(|m| m.build)
        .context("dist/'s manifest has no build record")?
        .source_date_epoch;
    let mut imports = Vec::new();
    for (tag, machine) in [
        (WIN_TAG, goblin::pe::header::COFF_MACHINE_X86_64),
        (WIN_ARM_TAG, goblin::pe::header::COFF_MACHINE_ARM64),
    ] {
        let exe = native_binary(&fs::read(ctx.wheel_path(tag))?)?;
        let pe = goblin::pe::PE::parse(&exe).context("parsing the PE")?;
        ensure!(
            pe.header.coff_header.machine == machine,
            "{tag}: PE machine {:#06x}",
            pe.header.coff_header.machine
        );
        // The linker's clock would make every build differ; dist hands it the recorded time.
        let stamp = pe.header.coff_header.time_date_stamp;
        ensure!(
            i64::from(stamp) == epoch,
            "{tag}: the PE is stamped {stamp}, not the recorded SOURCE_DATE_EPOCH {epoch}"
        );
        for dll in &pe.libraries {
            let lower = dll.to_ascii_lowercase();
            ensure!(
                ![
                    "libgcc",
                    "libwinpthread",
                    "vcruntime",
                    "msvcp",
                    "libstdc++",
                    "libunwind",
                    "libc++"
                ]
                .iter()
                .any(|bad| lower.starts_with(bad)),
                "{tag}: the exe imports {dll}: the C runtime must be linked statically"
            );
        }
        imports.push(format!("{tag}: {}", pe.libraries.join(" ")));
    }
    eprintln!(
        "    arm64 minos 11.0 signed, x86_64 minos 10.12, GLIBC <= {} (x86_64, aarch64), musl static, PEs stamped {epoch}, PE imports {}",
        glibc.join(", "),
        imports.join("; ")
    );
    Ok(())
}

/// The sidecar binary packed in a wheel (`mcp_sidecar/_native/mcp-sidecar[.exe]`).
pub fn native_binary(wheel: &[u8]) -> Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(wheel)).context("opening the wheel")?;
    let name = [
        "mcp_sidecar/_native/mcp-sidecar",
        "mcp_sidecar/_native/mcp-sidecar.exe",
    ]
    .into_iter()
    .find(|n| archive.index_for_name(n).is_some())
    .context("the wheel has no mcp_sidecar/_native/mcp-sidecar[.exe]")?;
    let mut bytes = Vec::new();
    archive.by_name(name)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn macho_minos(bytes: &[u8]) -> Result<Version2> {
    use goblin::mach::load_command::CommandVariant;
    let macho = goblin::mach::MachO::parse(bytes, 0).context("parsing the Mach-O")?;
    let decode = |v: u32| Version2::new(v >> 16, (v >> 8) & 0xff);
    macho
        .load_commands
        .iter()
        .find_map(|lc| match &lc.command {
            CommandVariant::BuildVersion(b) => Some(decode(b.minos)),
            CommandVariant::VersionMinMacosx(v) => Some(decode(v.version)),
            _ => None,
        })
        .context("the Mach-O declares no minimum macOS")
}

fn newest_glibc(bytes: &[u8]) -> Result<Version2> {
    let elf = goblin::elf::Elf::parse(bytes).context("parsing the ELF")?;
    let mut newest = Version2::new(0, 0);
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            for aux in need.iter() {
                let name = elf.dynstrtab.get_at(aux.vna_name).unwrap_or_default();
                if let Some(v) = name.strip_prefix("GLIBC_") {
                    newest = newest.max(Version2::parse(v).unwrap_or(newest));
                }
            }
        }
    }
    Ok(newest)
}

/// Files in `dir` whose names say an interrupted write left them.
pub fn temp_files(dir: &Path) -> Result<Vec<String>> {
    Ok(fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(crate::atomic::TEMP_PREFIX))
        .collect())
}
