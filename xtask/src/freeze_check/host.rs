//! Which wheel in the release directory this machine can freeze.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::artifact::{list_release_dir, Artifact};
use crate::wheel::{Arch, DistName, Os, PlatformTag, WheelFilename};

/// The `name` wheel in the release directory `dist` for this machine's OS, architecture and C
/// library (a glibc Linux takes the manylinux wheel, a musl one the musllinux wheel).
pub fn host_wheel(dist: &Path, name: &DistName) -> Result<PathBuf> {
    let (os, arch) = host_platform()?;
    let artifacts = list_release_dir(dist)?;
    let wheels: Vec<(&Artifact, &WheelFilename)> = artifacts
        .iter()
        .filter_map(|a| a.kind.wheel().map(|w| (a, w)))
        .collect();
    let mut matching: Vec<PathBuf> = wheels
        .iter()
        .filter(|(_, w)| {
            w.name.normalized() == name.normalized()
                && w.platforms()
                    .iter()
                    .any(|t| t.os() == os && t.arch() == arch && is_musl(t) == HOST_MUSL)
        })
        .map(|(a, _)| a.path.clone())
        .collect();
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => bail!(
            "no {name} wheel for this machine ({os:?} {arch:?}) in {}; wheels there: [{}]. \
             Run `cargo xtask dist` first.",
            dist.display(),
            wheels
                .iter()
                .map(|(a, _)| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => bail!(
            "more than one {name} wheel for this machine in {}: {}",
            dist.display(),
            matching
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The C library this xtask was built for is the host's.
const HOST_MUSL: bool = cfg!(target_env = "musl");

fn is_musl(tag: &PlatformTag) -> bool {
    matches!(tag, PlatformTag::Musllinux { .. })
}

fn host_platform() -> Result<(Os, Arch)> {
    let os = match std::env::consts::OS {
        "linux" => Os::Linux,
        "macos" => Os::Macos,
        "windows" => Os::Windows,
        other => bail!("freeze-check does not know wheels for OS `{other}`"),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => Arch::X86_64,
        "aarch64" => Arch::Aarch64,
        other => bail!("freeze-check does not know wheels for architecture `{other}`"),
    };
    Ok((os, arch))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn ours() -> DistName {
        DistName::parse("mcp-sidecar").unwrap()
    }

    #[test]
    fn picks_the_host_wheel_by_platform_tag() {
        let dir = std::env::temp_dir().join(format!("freeze-check-wheels-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let names = [
            "mcp_sidecar-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "mcp_sidecar-0.1.0-py3-none-macosx_10_12_x86_64.whl",
            "mcp_sidecar-0.1.0-py3-none-macosx_11_0_arm64.whl",
            "mcp_sidecar-0.1.0-py3-none-win_amd64.whl",
            "mcp_sidecar-0.1.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            "mcp_sidecar-0.1.0-py3-none-musllinux_1_2_x86_64.whl",
            "mcp_sidecar-0.1.0-py3-none-musllinux_1_2_aarch64.whl",
            "mcp_sidecar-0.1.0-py3-none-win_arm64.whl",
            "mcp_sidecar-0.1.0.tar.gz",
        ];
        for name in names {
            fs::write(dir.join(name), b"").unwrap();
        }
        let picked = host_wheel(&dir, &ours());
        let _ = fs::remove_dir_all(&dir);
        let (os, arch) = host_platform().unwrap();
        let picked = picked.unwrap();
        let name = picked.file_name().unwrap().to_str().unwrap();
        let wheel = WheelFilename::parse(name).unwrap();
        assert!(wheel
            .platforms()
            .iter()
            .any(|t| t.os() == os && t.arch() == arch && is_musl(t) == HOST_MUSL));
    }

    #[test]
    fn no_host_wheel_says_what_it_found() {
        let dir = std::env::temp_dir().join(format!("freeze-check-empty-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("mcp_sidecar-0.1.0-py3-none-win_arm64.whl"), b"").unwrap();
        let err = host_wheel(&dir, &ours()).unwrap_err().to_string();
        let _ = fs::remove_dir_all(&dir);
        assert!(err.contains("win_arm64"), "{err}");
        assert!(err.contains("cargo xtask dist"), "{err}");
    }
}
