//! Real wheels from the package index, pinned by version and sha256, downloaded once into
//! `target/check-corpus/` (reruns are offline): binaries (ruff on seven platforms, uv, ninja's
//! `manylinux2010` and `universal2`, cmake's `cmake/data/bin/`) and extension modules with
//! bundled libraries (auditwheel's `pillow.libs/` and `pyzmq.libs/`, delocate's `PIL/.dylibs/`,
//! delvewheel-era pyzmq for Windows). `check` must find no error on any, and must catch each
//! relabelled with a tag its binaries contradict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use crate::config::Config;

pub struct Pinned {
    pub project: &'static str,
    pub version: &'static str,
    pub file: &'static str,
    pub sha256: &'static str,
}

const fn pin(
    project: &'static str,
    version: &'static str,
    file: &'static str,
    sha256: &'static str,
) -> Pinned {
    Pinned {
        project,
        version,
        file,
        sha256,
    }
}

/// ≈ 130 MB in all; the sha256 values are PyPI's (its JSON API), written here once.
pub const CORPUS: &[Pinned] = &[
    pin("ruff", "0.17.6", "ruff-0.17.6-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "aa3b08254a732acba246891089a152c47c5733dc36b8ecb76ce8602f8326e5e4"),
    pin("ruff", "0.17.6", "ruff-0.17.6-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "435241c61af5909a022f76219d3d1bf24730dc1bf0acabb5ddf4b569ab3cbb30"),
    pin("ruff", "0.17.6", "ruff-0.17.6-py3-none-musllinux_1_2_x86_64.whl", "3db61f5015600543a581b07fa7f6f64afa0eeedefe16034cadd88c4074087582"),
    pin("ruff", "0.17.6", "ruff-0.17.6-py3-none-macosx_11_0_arm64.whl", "9fbddc08577592e283c265d865e0182de6e33db185494db7b06290d989d888e5"),
    pin("ruff", "0.17.6", "ruff-0.17.6-py3-none-win_amd64.whl", "9cd2fd9923e9806b8b6b67a3469e2258e84bd4d21e45d5a1a690afdfb9c8e57d"),
    pin("ruff", "0.17.6", "ruff-0.17.6-py3-none-win_arm64.whl", "d8b14e1473dc86ab9069cf7a2ba5041dc012f59110201844ed04cfddf07055a0"),
    pin("ruff", "0.17.6", "ruff-0.17.6-py3-none-win32.whl", "c2f4af6670b7a0501904e881bb3f1f24bd0d964dec1eedbd85f0eb73786e1128"),
    pin("uv", "0.13.9", "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19"),
    pin("ninja", "1.11.1", "ninja-1.11.1-py2.py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.whl", "817e2aee2a4d28a708a67bcfba1817ae502c32c6d8ef80e50d63b0f23adf3a08"),
    pin("ninja", "1.11.1", "ninja-1.11.1-py2.py3-none-macosx_10_9_universal2.macosx_10_9_x86_64.macosx_11_0_arm64.macosx_11_0_universal2.whl", "f48c3c6eea204062f6bbf089dfc63e1ad41a08640e1da46ef2b30fa426f7ce23"),
    pin("cmake", "4.4.5", "cmake-4.4.5-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "85625a9b6d5e88ff99c7eb79123d85570844e77ac076366cf75c609cc0b1b579"),
    pin("pillow", "13.0.0", "pillow-13.0.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "5f56499c1a74d2b862beb0c33b8016f99d095858455df9d21583bbbc1c15b582"),
    pin("pillow", "13.0.0", "pillow-13.0.0-cp313-cp313-macosx_11_0_arm64.whl", "f11a3c1358bb3c68012a7b1f41b223c3db9f7bfde90b481df028cfe1c3363313"),
    pin("pyzmq", "27.3.0", "pyzmq-27.3.0-cp312-abi3-win_amd64.whl", "3ea8e8fa5c097e68fef91d70b150fda96f307758103868018fc4deeb9c214122"),
    pin("pyzmq", "27.3.0", "pyzmq-27.3.0-cp312-abi3-musllinux_1_2_x86_64.whl", "d317685b83663fbd03ca8b5c34add7463e9bed094e3e1a69d2a895130b64ffaf"),
];

/// (corpus file, the tag it is relabelled with, the finding that must catch it).
const RELABELLED: &[(&str, &str, &str)] = &[
    ("ruff-0.17.6-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "manylinux_2_5_x86_64", "elf-glibc-too-new"),
    ("ninja-1.11.1-py2.py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.whl", "manylinux1_x86_64", "elf-glibc-too-new"),
    ("ruff-0.17.6-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "manylinux_2_17_x86_64", "binary-arch"),
    ("ruff-0.17.6-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "musllinux_1_2_x86_64", "elf-glibc-on-musl"),
    ("ruff-0.17.6-py3-none-win_arm64.whl", "win_amd64", "binary-arch"),
    ("ruff-0.17.6-py3-none-win32.whl", "win_arm64", "binary-arch"),
    ("ruff-0.17.6-py3-none-macosx_11_0_arm64.whl", "macosx_11_0_universal2", "binary-arch"),
    ("ninja-1.11.1-py2.py3-none-macosx_10_9_universal2.macosx_10_9_x86_64.macosx_11_0_arm64.macosx_11_0_universal2.whl", "macosx_10_6_universal2", "macho-minos-too-new"),
    ("pillow-13.0.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "manylinux_2_17_x86_64", "elf-glibc-too-new"),
    ("pyzmq-27.3.0-cp312-abi3-musllinux_1_2_x86_64.whl", "manylinux_2_17_x86_64", "elf-needed-not-allowed"),
];

pub fn dir(cfg: &Config) -> PathBuf {
    cfg.target_dir.join("check-corpus")
}

/// The corpus files, downloaded (and verified) the first time.
pub fn fetch(sh: &Shell, cfg: &Config) -> Result<Vec<PathBuf>> {
    let dir = dir(cfg);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut index: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    let mut files = Vec::new();
    for p in CORPUS {
        let path = dir.join(p.file);
        if !path.is_file() || sha256_of(&path)? != p.sha256 {
            let api = format!("https://pypi.org/pypi/{}/json", p.project);
            if !index.contains_key(p.project) {
                eprintln!("==> {api}");
                let text = cmd!(sh, "curl -fsSL --retry 3 {api}").quiet().read()?;
                index.insert(p.project, serde_json::from_str(&text).context(api.clone())?);
            }
            let url = file_url(&index[p.project], p, &api)?;
            eprintln!("==> downloading {}", p.file);
            let part = path.with_extension("part");
            cmd!(sh, "curl -fsSL --retry 3 -o {part} {url}")
                .quiet()
                .run()?;
            let got = sha256_of(&part)?;
            ensure!(got == p.sha256, "{url}: sha256 {got}, pinned {}", p.sha256);
            std::fs::rename(&part, &path)?;
        }
        files.push(path);
    }
    Ok(files)
}

/// Where the JSON API says the pinned file is (absolute, or relative to the API's address).
fn file_url(index: &serde_json::Value, p: &Pinned, api: &str) -> Result<String> {
    let files = index["releases"][p.version]
        .as_array()
        .with_context(|| format!("{api}: no release {}", p.version))?;
    let url = files
        .iter()
        .find(|f| f["filename"] == p.file)
        .and_then(|f| f["url"].as_str())
        .with_context(|| format!("{api}: release {} has no {}", p.version, p.file))?;
    Ok(resolve(api, url))
}

/// `rel` against `base` the way a browser resolves a link (`../x` climbs from base's folder).
fn resolve(base: &str, rel: &str) -> String {
    if rel.contains("://") {
        return rel.to_string();
    }
    let (scheme_host, path) = match base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
    {
        Some(i) => (&base[..i], &base[i..]),
        None => (base, "/"),
    };
    let mut parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    parts.pop();
    if rel.starts_with('/') {
        parts.clear();
    }
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("{scheme_host}/{}", parts.join("/"))
}

pub fn sha256_of(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut sha = Sha256::new();
    std::io::copy(&mut file, &mut sha)?;
    Ok(sha.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// No error on any corpus wheel, in-process and as the command exits.
pub fn clean(sh: &Shell, cfg: &Config, files: &[PathBuf]) -> Result<()> {
    eprintln!(
        "==> cargo xtask check on {} real wheels (no error expected)",
        files.len()
    );
    let report = crate::check::check_paths(files, None, &crate::check::Payload::of(cfg))?;
    report.print(false)?;
    ensure!(
        report.passes(false),
        "check reports {} error(s) on the real-wheel corpus",
        report.count(crate::check::Severity::Error)
    );
    ensure!(
        report.artifacts.iter().all(|a| !a.binaries.is_empty()),
        "every corpus wheel carries native code, and check must find it"
    );
    let xtask = crate::util::self_exe()?;
    cmd!(sh, "{xtask} check {files...}")
        .quiet()
        .ignore_stdout()
        .run()?;
    Ok(())
}

/// Each relabelled copy exits 1 with the finding its binaries earn.
pub fn relabelled(sh: &Shell, cfg: &Config) -> Result<()> {
    let out = dir(cfg).join("relabelled");
    std::fs::create_dir_all(&out)?;
    let xtask = crate::util::self_exe()?;
    for (file, tag, kind) in RELABELLED {
        let stem = file.rsplit_once('-').map_or(*file, |(stem, _)| stem);
        let name = format!("{stem}-{tag}.whl");
        let copy = out.join(&name);
        std::fs::copy(dir(cfg).join(file), &copy)?;
        let run = cmd!(sh, "{xtask} check --json {copy}")
            .quiet()
            .ignore_status()
            .output()?;
        let json: serde_json::Value =
            serde_json::from_slice(&run.stdout).with_context(|| format!("check --json {name}"))?;
        let kinds: Vec<&str> = json["artifacts"][0]["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["kind"].as_str())
            .collect();
        if run.status.code() != Some(1) || !kinds.contains(kind) {
            bail!(
                "{name}: expected exit 1 with {kind}; got {:?} with {kinds:?}",
                run.status.code()
            );
        }
        eprintln!("==> {name}: caught ({kind})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_index_links() {
        let api = "https://pypi.org/pypi/ruff/json";
        assert_eq!(
            resolve(api, "../../packages/packages/2e/09/x.whl"),
            "https://pypi.org/packages/packages/2e/09/x.whl"
        );
        assert_eq!(
            resolve(api, "https://files.example/x.whl"),
            "https://files.example/x.whl"
        );
        assert_eq!(
            resolve(api, "/packages/x.whl"),
            "https://pypi.org/packages/x.whl"
        );
    }

    #[test]
    fn every_relabelling_names_a_corpus_file_and_a_kind() {
        for (file, tag, kind) in RELABELLED {
            assert!(CORPUS.iter().any(|p| p.file == *file), "{file}");
            assert!(crate::wheel::PlatformTag::parse(tag).is_ok(), "{tag}");
            assert!(crate::check::kind_codes().any(|k| k == *kind), "{kind}");
        }
    }
}
