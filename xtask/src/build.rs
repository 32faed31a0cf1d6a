//! Compiles the sidecar for the planned targets with the release profile (stripped).
//!
//! Host-side work (build scripts, proc macros) is shared: one cargo invocation per builder with
//! every target in it, except the build host's own triple, which gets its own. With the host's
//! triple among the `--target`s, cargo builds the host-side units under other hashes, which
//! reach every binary of that invocation: a Windows binary built beside x86_64 Linux differs from
//! one built alone. Split this way, every target's bytes are those of the target built alone.
//!
//! `MACOSX_DEPLOYMENT_TARGET` is global to a cargo invocation, so when one
//! invocation holds targets that need different values, a generated rustc wrapper sets it per
//! `--target`, and zig links each Apple target through a generated linker script that names the
//! target's own minimum macOS. Afterwards, an arm64 Mach-O whose code signature no longer matches
//! its bytes is re-signed ad hoc (in memory; cargo's output is left as cargo wrote it).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Cmd, Shell};

mod progress;
pub(crate) mod remap;
mod scripts;

pub use progress::Progress;

use crate::checksums::{BuildRecord, Invocation};
use crate::config::Config;
use crate::interrupt;
use crate::target::{BuilderKind, Target};
use crate::toolchain::ZigTools;
use remap::Remap;
use scripts::Scripts;

/// The build tools the plan needs, bootstrapped by `dist` before building.
#[derive(Debug, Default)]
pub struct Tools {
    pub zig: Option<ZigTools>,
    pub cross: Option<PathBuf>,
    /// cargo-auditable, wrapping every zig and native invocation (not cross: it builds in an image).
    pub auditable: Option<Auditable>,
}

/// What `cargo auditable <subcommand>` does, done here: cargo-auditable as the workspace rustc
/// wrapper, named bare and found on PATH. cargo hashes that wrapper's spelling into the sidecar
/// crate's `-C metadata` (its symbol names): `cargo auditable` passes its own absolute path,
/// which differs per checkout and so changed the binary's bytes on every other machine.
fn with_auditable<'a>(c: Cmd<'a>, auditable: &Path) -> Result<Cmd<'a>> {
    let dir = auditable
        .parent()
        .context("cargo-auditable's path has no folder")?;
    let name = auditable
        .file_name()
        .context("cargo-auditable's path has no file name")?;
    let path = std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .context("putting cargo-auditable on PATH")?;
    // The cargo flags cargo-auditable forwards to its own `cargo metadata` (none of ours apply).
    let orig_args = r#"{"offline":false,"locked":false,"frozen":false,"config":[]}"#;
    Ok(c.env("PATH", path)
        .env("RUSTC_WORKSPACE_WRAPPER", name)
        .env("CARGO_AUDITABLE_ORIG_ARGS", orig_args))
}

/// cargo-auditable and its version line.
#[derive(Debug, Clone)]
pub struct Auditable {
    pub path: PathBuf,
    pub version: String,
}

/// One target's binary, ready to pack.
#[derive(Debug, Clone)]
pub struct Built {
    pub triple: String,
    pub bytes: Vec<u8>,
    /// Seconds from the start of the build stage until this binary was linked.
    pub seconds: f64,
    pub resigned: bool,
}

impl Auditable {
    /// The pinned cargo-auditable, installed under target/tools/ on first use.
    pub fn ensure(sh: &Shell, cfg: &Config) -> Result<Auditable> {
        let path = crate::toolchain::ensure_cargo_tool(
            sh,
            &cfg.target_dir,
            crate::toolchain::CARGO_AUDITABLE,
        )?;
        let version = crate::toolchain::CARGO_AUDITABLE.version_line();
        eprintln!("==> auditable: {version} ({})", path.display());
        Ok(Auditable { path, version })
    }
}

/// Builds every target and returns their binaries, in plan order.
pub fn build_all(
    sh: &Shell,
    cfg: &Config,
    targets: &[Target],
    tools: &Tools,
    progress: &mut Progress,
) -> Result<Vec<Built>> {
    let start = Instant::now();
    let mut linked: BTreeMap<String, f64> = BTreeMap::new();
    for group in invocations(targets) {
        interrupt::check()?;
        let result = run_invocation(sh, cfg, &group, tools, start, &mut linked, progress);
        progress.finish(result.is_err());
        result?;
    }
    targets
        .iter()
        .map(|t| {
            interrupt::check()?;
            let seconds = linked
                .get(&t.triple)
                .copied()
                .unwrap_or_else(|| start.elapsed().as_secs_f64());
            finish(cfg, t, seconds)
        })
        .collect()
}

/// What determined the bytes of this build, for the manifest: tool versions, the timestamp, and
/// the release triples of each cargo invocation.
pub fn record(
    sh: &Shell,
    targets: &[Target],
    tools: &Tools,
    source_date_epoch: i64,
    sdist: bool,
) -> Result<BuildRecord> {
    let zig = tools.zig.as_ref();
    Ok(BuildRecord {
        rustc: crate::toolchain::rustc_version(sh)?,
        zig: zig.map(|z| z.zig_version.clone()),
        cargo_zigbuild: zig.map(|z| z.cargo_zigbuild_version.clone()),
        cargo_auditable: tools.auditable.as_ref().map(|a| a.version.clone()),
        maturin: sdist.then(crate::toolchain::maturin_version),
        source_date_epoch,
        invocations: invocations(targets)
            .into_iter()
            .map(|group| Invocation {
                builder: group[0].builder,
                targets: group.iter().map(|t| t.triple.clone()).collect(),
            })
            .collect(),
    })
}

/// Targets grouped into cargo invocations: one per builder (cross runs one image per target),
/// and the host's own triple alone (module comment).
pub fn invocations(targets: &[Target]) -> Vec<Vec<&Target>> {
    let mut groups: Vec<Vec<&Target>> = Vec::new();
    for t in targets {
        let joinable = t.builder != BuilderKind::Cross && !t.is_host_triple;
        match groups
            .iter_mut()
            .find(|g| joinable && !g[0].is_host_triple && g[0].builder == t.builder)
        {
            Some(group) => group.push(t),
            None => groups.push(vec![t]),
        }
    }
    groups
}

fn run_invocation(
    sh: &Shell,
    cfg: &Config,
    group: &[&Target],
    tools: &Tools,
    start: Instant,
    linked: &mut BTreeMap<String, f64>,
    progress: &mut Progress,
) -> Result<()> {
    let builder = group[0].builder;
    let scripts = Scripts::plan(cfg, group, tools.zig.as_ref());
    scripts.write()?;
    // cross builds in its image's own paths (/project, /cargo): nothing of this machine's.
    let remap = if builder == BuilderKind::Cross {
        Remap::default()
    } else {
        Remap::detect(sh, cfg)?
    };
    let (cmd, notes) = command(sh, cfg, group, tools, &scripts, &remap)?;
    let triples: Vec<&str> = group.iter().map(|t| t.triple.as_str()).collect();
    progress.say(&format!("==> build ({builder}): {}", triples.join(", ")));
    progress.say(&format!("    $ {cmd}"));
    for note in notes {
        progress.say(&format!("    {note}"));
    }
    let mut command: std::process::Command = cmd.into();
    let json = builder != BuilderKind::Cross;
    if json {
        command.stdout(Stdio::piped());
    }
    if progress.captures_cargo() {
        command.stderr(Stdio::piped());
    }
    progress.start(&triples);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting the {builder} build"))?;
    std::thread::scope(|scope| -> Result<()> {
        if let Some(stderr) = child.stderr.take() {
            let progress = &*progress;
            scope.spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    progress.cargo_line(&line);
                }
            });
        }
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines() {
                let line = line.context("reading cargo's messages")?;
                if let Some(t) = linked_target(cfg, group, &line) {
                    let secs = start.elapsed().as_secs_f64();
                    progress.linked(&t.triple, secs);
                    linked.insert(t.triple.clone(), secs);
                }
            }
        }
        Ok(())
    })?;
    let status = child.wait().context("waiting for cargo")?;
    interrupt::check()?;
    if !status.success() {
        bail!(
            "the {builder} build of {} failed ({status})",
            triples.join(", ")
        );
    }
    for t in group {
        linked
            .entry(t.triple.clone())
            .or_insert_with(|| start.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The cargo command line for one invocation, plus what it does differently, in words.
fn command<'a>(
    sh: &'a Shell,
    cfg: &Config,
    group: &[&Target],
    tools: &Tools,
    scripts: &Scripts,
    remap: &Remap,
) -> Result<(Cmd<'a>, Vec<String>)> {
    let builder = group[0].builder;
    let (package, binary) = (&cfg.dist.package, &cfg.dist.binary);
    let mut notes = Vec::new();
    // cargo-auditable runs `$CARGO <subcommand> ARGS` with itself as the workspace rustc wrapper.
    let auditable = tools
        .auditable
        .as_ref()
        .filter(|_| builder != BuilderKind::Cross);
    if let Some(a) = auditable {
        notes.push(format!(
            "the dependency list goes into the binary ({}, .dep-v0)",
            a.version
        ));
    }
    let mut c = match builder {
        BuilderKind::Zig => {
            let zig = tools.zig.as_ref().context("zig was not bootstrapped")?;
            let czb = &zig.cargo_zigbuild;
            cmd!(sh, "{czb} zigbuild").envs(zig.env())
        }
        BuilderKind::Native => cmd!(sh, "cargo build"),
        BuilderKind::Cross => {
            let cross = tools.cross.as_ref().context("cross was not checked")?;
            cmd!(sh, "{cross} build")
        }
    };
    if let Some(a) = auditable {
        c = with_auditable(c, &a.path)?;
    }
    c = c.args(["--release", "--package", package, "--bin", binary]);
    if builder != BuilderKind::Cross {
        c = c.arg("--message-format=json-render-diagnostics");
    }
    // Our own per-target values below replace any global one.
    c = c.env_remove("MACOSX_DEPLOYMENT_TARGET");
    // The bytes must follow from the recorded inputs alone; the remap flags below replace these.
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        if std::env::var_os(var).is_some() {
            notes.push(format!(
                "{var} is ignored: the release's bytes depend on the build record only"
            ));
            c = c.env_remove(var);
        }
    }
    if !remap.prefixes.is_empty() {
        let paths: Vec<String> = remap
            .prefixes
            .iter()
            .map(|p| format!("{} -> {}", p.from.display(), p.to))
            .collect();
        notes.push(format!("paths in the binary: {}", paths.join(", ")));
    }
    for t in group {
        c = c.args(["--target", &t.cargo_target]);
        let mut flags = remap.rustflags();
        if let Some(min) = t.macos_min {
            // Also makes cargo rebuild when the deployment target changes (it does not track the env var).
            flags.push(format!("-Clink-arg=-mmacosx-version-min={min}"));
        }
        if flags.is_empty() {
            continue;
        }
        // A JSON array of strings is a valid TOML inline array.
        let flags = serde_json::to_string(&flags).context("quoting rustflags")?;
        c = c
            .arg("--config")
            .arg(format!("target.{}.rustflags={flags}", t.build_triple));
    }
    let with_env: Vec<&&Target> = group.iter().filter(|t| !t.env.is_empty()).collect();
    if builder == BuilderKind::Cross {
        c = c.envs(&group[0].env);
    } else if let Some(wrapper) = &scripts.rustc_wrapper {
        c = c.env("RUSTC_WRAPPER", &wrapper.path);
    }
    if let (false, Some(wrapper)) = (with_env.is_empty(), &scripts.rustc_wrapper) {
        notes.push(format!(
            "per-target environment ({}) through the rustc wrapper {}",
            with_env
                .iter()
                .flat_map(|t| t
                    .env
                    .iter()
                    .map(move |(k, v)| format!("{k}={v} for {}", t.triple)))
                .collect::<Vec<_>>()
                .join(", "),
            wrapper.path.display()
        ));
    }
    if builder == BuilderKind::Zig {
        for (triple, script, zig_target) in &scripts.zig_linkers {
            let Some(t) = group.iter().find(|t| t.triple == *triple) else {
                continue;
            };
            notes.push(format!("{triple} links with zig -target {zig_target}"));
            if !notes.iter().any(|n| n.contains("xcrun")) {
                notes.push("(rustc's warning that `xcrun` failed is expected off macOS: zig brings the macOS SDK stubs)".into());
            }
            let env_triple = t.build_triple.replace('-', "_");
            c = c
                .env(
                    format!("CARGO_TARGET_{}_LINKER", env_triple.to_uppercase()),
                    &script.path,
                )
                .env(format!("CC_{env_triple}"), &script.path);
        }
    }
    if builder == BuilderKind::Cross {
        for t in group {
            if let Some(image) = cfg.dist.cross_images.get(&t.triple) {
                let var = format!(
                    "CROSS_TARGET_{}_IMAGE",
                    t.build_triple.replace('-', "_").to_uppercase()
                );
                notes.push(format!("{var}={image}"));
                c = c.env(var, image);
            }
        }
    }
    Ok((c, notes))
}

/// If `line` is cargo's message that the sidecar binary for one of `group` was linked, that target.
fn linked_target<'t>(cfg: &Config, group: &[&'t Target], line: &str) -> Option<&'t Target> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg.get("reason")?.as_str()? != "compiler-artifact"
        || msg.pointer("/target/name")?.as_str()? != cfg.dist.binary
    {
        return None;
    }
    let exe = Path::new(msg.get("executable")?.as_str()?);
    group.iter().copied().find(|t| exe == t.binary_path)
}

/// Reads the linked binary and re-signs an arm64 Mach-O whose signature no longer matches.
fn finish(cfg: &Config, t: &Target, seconds: f64) -> Result<Built> {
    let bytes = std::fs::read(&t.binary_path).with_context(|| {
        format!(
            "reading the {} binary {}",
            t.triple,
            t.binary_path.display()
        )
    })?;
    let (bytes, resigned) = if t.expectation.needs_code_signature {
        sign_if_needed(&cfg.dist.binary, &t.triple, bytes)?
    } else {
        (bytes, false)
    };
    Ok(Built {
        triple: t.triple.clone(),
        bytes,
        seconds,
        resigned,
    })
}

/// Keeps a Mach-O whose signature verifies; re-signs (ad hoc, last) one that does not.
fn sign_if_needed(identifier: &str, triple: &str, bytes: Vec<u8>) -> Result<(Vec<u8>, bool)> {
    let Err(problem) = crate::macho_sign::verify(&bytes) else {
        return Ok((bytes, false));
    };
    eprintln!("    {triple}: code signature does not match the stripped binary ({problem}); re-signing ad hoc");
    let signed = crate::macho_sign::resign_adhoc(&bytes, identifier)
        .with_context(|| format!("re-signing the {triple} binary"))?;
    crate::macho_sign::verify(&signed)
        .with_context(|| format!("the re-signed {triple} binary does not verify"))?;
    Ok((signed, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Builder;
    use crate::target::{plan, Host};

    #[test]
    fn the_host_triple_alone_and_one_zig_invocation_for_the_others() {
        let cfg = Config::load().unwrap();
        let host = Host::new("x86_64-unknown-linux-gnu").unwrap();
        let targets = plan(&cfg, &host, &[], Builder::Auto).unwrap();
        let groups = invocations(&targets);
        let triples = |g: &Vec<&Target>| g.iter().map(|t| t.triple.clone()).collect::<Vec<_>>();
        assert_eq!(triples(&groups[0]), ["x86_64-unknown-linux-gnu"]);
        assert_eq!(
            groups.len(),
            2,
            "{:?}",
            groups.iter().map(triples).collect::<Vec<_>>()
        );
        assert_eq!(groups[1].len(), targets.len() - 1);
        assert!(groups[1].iter().all(|t| !t.is_host_triple));
        // On an arm64 Linux runner the other Linux triple is the one built alone.
        let host = Host::new("aarch64-unknown-linux-gnu").unwrap();
        let targets = plan(&cfg, &host, &[], Builder::Zig).unwrap();
        let alone: Vec<_> = invocations(&targets)
            .into_iter()
            .filter(|g| g.len() == 1)
            .map(|g| g[0].triple.clone())
            .collect();
        assert_eq!(alone, ["aarch64-unknown-linux-gnu"]);
    }

    #[test]
    fn cross_runs_one_image_per_target() {
        let cfg = Config::load().unwrap();
        let host = Host::new("x86_64-unknown-linux-gnu").unwrap();
        let only = [
            "x86_64-unknown-linux-gnu".to_string(),
            "x86_64-pc-windows-msvc".to_string(),
        ];
        let targets = plan(&cfg, &host, &only, Builder::Cross).unwrap();
        assert_eq!(invocations(&targets).len(), 2);
    }

    #[test]
    fn the_command_line_names_every_target_and_deployment_target_and_writes_nothing() {
        let sh = Shell::new().unwrap();
        let mut cfg = Config::load().unwrap();
        let scratch = std::env::temp_dir().join(format!("xtask-build-cmd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        cfg.target_dir = scratch.clone();
        let host = Host::new("x86_64-unknown-linux-gnu").unwrap();
        let targets = plan(&cfg, &host, &[], Builder::Auto).unwrap();
        let group: Vec<&Target> = targets.iter().collect();
        let tools = Tools {
            zig: Some(ZigTools {
                cargo_zigbuild: PathBuf::from("/opt/czb/cargo-zigbuild"),
                ziglang_python: None,
                zig_version: "0.0.0".into(),
                cargo_zigbuild_version: "cargo-zigbuild 0.0.0".into(),
            }),
            cross: None,
            auditable: Some(Auditable {
                path: PathBuf::from("/t/cargo-auditable"),
                version: "cargo-auditable 0.7.4".into(),
            }),
        };
        let scripts = Scripts::plan(&cfg, &group, tools.zig.as_ref());
        let remap = Remap::of(
            Path::new("/w"),
            Path::new("/w/target"),
            Path::new("/h/.cargo"),
            Path::new("/r"),
        );
        let (c, notes) = command(&sh, &cfg, &group, &tools, &scripts, &remap).unwrap();
        assert!(
            !scratch.exists(),
            "planning the command wrote into the target dir"
        );
        let line = c.to_string();
        assert!(
            line.starts_with("/opt/czb/cargo-zigbuild zigbuild --release"),
            "{line}"
        );
        assert!(
            line.contains("--target x86_64-unknown-linux-gnu.2.17"),
            "{line}"
        );
        assert!(line.contains("--target x86_64-pc-windows-gnu"), "{line}");
        assert!(line.contains("mmacosx-version-min=10.12"), "{line}");
        assert!(line.contains("mmacosx-version-min=11.0"), "{line}");
        assert_eq!(
            line.matches("--remap-path-prefix=/h/.cargo/registry/src=/cargo/registry/src")
                .count(),
            targets.len(),
            "every target remaps the registry: {line}"
        );
        let notes = notes.join("\n");
        assert!(
            notes.contains("MACOSX_DEPLOYMENT_TARGET=10.12 for x86_64-apple-darwin"),
            "{notes}"
        );
        assert!(notes.contains("aarch64-macos.11.0-none"), "{notes}");
        let wrapper = scripts.rustc_wrapper.as_ref().unwrap();
        assert!(
            wrapper
                .text
                .contains("aarch64-apple-darwin) export MACOSX_DEPLOYMENT_TARGET=11.0 ;;"),
            "{}",
            wrapper.text
        );
        assert_eq!(scripts.zig_linkers.len(), 2);
        scripts.write().unwrap();
        let written = std::fs::read_to_string(&wrapper.path).unwrap();
        assert_eq!(written, wrapper.text);
        let (_, linker, _) = &scripts.zig_linkers[0];
        assert!(std::fs::read_to_string(&linker.path)
            .unwrap()
            .contains("zig cc"));
    }

    #[test]
    fn a_mac_target_alone_gets_its_environment_through_the_wrapper_as_in_the_set() {
        let sh = Shell::new().unwrap();
        let cfg = Config::load().unwrap();
        let host = Host::new("x86_64-unknown-linux-gnu").unwrap();
        let only = ["aarch64-apple-darwin".to_string()];
        let targets = plan(&cfg, &host, &only, Builder::Auto).unwrap();
        let tools = Tools {
            zig: Some(ZigTools {
                cargo_zigbuild: PathBuf::from("/opt/czb/cargo-zigbuild"),
                ziglang_python: None,
                zig_version: "0.0.0".into(),
                cargo_zigbuild_version: "cargo-zigbuild 0.0.0".into(),
            }),
            ..Tools::default()
        };
        let group = [&targets[0]];
        let scripts = Scripts::plan(&cfg, &group, tools.zig.as_ref());
        let wrapper = scripts
            .rustc_wrapper
            .as_ref()
            .expect("no wrapper for one target");
        assert!(wrapper.text.contains("MACOSX_DEPLOYMENT_TARGET=11.0"));
        let (_, notes) = command(&sh, &cfg, &group, &tools, &scripts, &Remap::default()).unwrap();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("through the rustc wrapper")),
            "{notes:?}"
        );
    }

    #[test]
    fn cross_runs_the_centos_image_for_the_glibc_floor() {
        let sh = Shell::new().unwrap();
        let cfg = Config::load().unwrap();
        let host = Host::new("x86_64-unknown-linux-gnu").unwrap();
        let only = ["x86_64-unknown-linux-gnu".to_string()];
        let targets = plan(&cfg, &host, &only, Builder::Cross).unwrap();
        let tools = Tools {
            zig: None,
            cross: Some(PathBuf::from("cross")),
            auditable: Some(Auditable {
                path: PathBuf::from("/t/cargo-auditable"),
                version: "cargo-auditable 0.7.4".into(),
            }),
        };
        let scripts = Scripts::plan(&cfg, &[&targets[0]], None);
        let remap = Remap::default();
        let (c, notes) = command(&sh, &cfg, &[&targets[0]], &tools, &scripts, &remap).unwrap();
        let line = c.to_string();
        assert!(line.starts_with("cross build --release"), "{line}");
        assert!(
            line.ends_with("--target x86_64-unknown-linux-gnu"),
            "{line}"
        );
        assert!(!line.contains("message-format"), "{line}");
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("CROSS_TARGET_X86_64_UNKNOWN_LINUX_GNU_IMAGE=")),
            "{notes:?}"
        );
    }

    #[test]
    fn an_arm64_binary_edited_after_linking_is_re_signed() {
        // A real arm64 Mach-O, linked and signed ad hoc by zig (the check fixtures build it).
        let linked = crate::check::fixtures::binary("mac-arm64-ok");
        crate::macho_sign::verify(&linked).unwrap();
        let (same, resigned) =
            sign_if_needed("mcp-sidecar", "aarch64-apple-darwin", linked.clone()).unwrap();
        assert!(
            !resigned && same == linked,
            "a valid signature must be kept as is"
        );
        let edited = crate::check::fixtures::macho_corrupt_code(linked);
        assert!(crate::macho_sign::verify(&edited).is_err());
        let (signed, resigned) =
            sign_if_needed("mcp-sidecar", "aarch64-apple-darwin", edited).unwrap();
        assert!(resigned);
        crate::macho_sign::verify(&signed).unwrap();
    }
}
