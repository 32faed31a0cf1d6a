//! `cargo xtask publish`: uploads the wheels and sdist in `dist/` with twine, but only after
//! `cargo xtask check` and `twine check --strict` pass on every file. Credentials come from the
//! environment only (TWINE_USERNAME/TWINE_PASSWORD, or trusted publishing in GitHub Actions,
//! which twine ≥ 6.1 performs itself); they never reach argv or the log.
//!
//! Skip-existing is ours, not only twine's: twine 7 allows `--skip-existing` for PyPI alone, and
//! it would silently skip a file the index holds with different bytes. So the index's simple API
//! is asked first (`scripts/index_files.py`): identical files are skipped, different ones refused.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::config::Config;
use crate::flags;
use crate::python_env::{Venv, NEWEST};
use crate::release_assets::Inventory;

pub mod attestation;

/// Pinned: the refusal rules and trusted-publishing support are twine's, so they must not drift.
pub const TWINE: &str = "twine==7.0.0";
pub const PYPI_UPLOAD_URL: &str = "https://upload.pypi.org/legacy/";
const TESTPYPI_UPLOAD_URL: &str = "https://test.pypi.org/legacy/";

/// Where the upload's credentials come from (never their values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// TWINE_USERNAME (default `__token__` on PyPI) and TWINE_PASSWORD.
    Environment,
    /// GitHub Actions OIDC token exchanged for a short-lived PyPI token, by twine.
    TrustedPublishing,
}

/// What the index already holds under one of our file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnIndex {
    New,
    Same,
    Different,
    /// Listed, but the index publishes no hash to compare.
    Present,
}

impl flags::Publish {
    pub fn run(self, sh: &Shell, cfg: &Config) -> Result<()> {
        let url = self.repository_url.as_deref().unwrap_or(PYPI_UPLOAD_URL);
        check_repository_url(url)?;
        let check_url = self
            .check_url
            .clone()
            .unwrap_or_else(|| default_check_url(url));
        check_repository_url(&check_url)?;
        let credentials = detect_credentials(url, &|name| std::env::var(name).ok());
        // A real upload without credentials would fail half-way; refuse before any work.
        let credentials = if self.dry_run {
            credentials.ok()
        } else {
            Some(credentials?)
        };
        let inventory = crate::release_gate::open(&self.dist, cfg, self.allow_partial)?;
        let files: Vec<PathBuf> = inventory.distributions().map(|a| a.path.clone()).collect();
        // Before any tool runs: a missing or mismatched attestation is a refusal, not an upload.
        if self.attestations {
            attestation::require(&signed_files(&inventory))?;
        }
        let venv = Venv::ensure(sh, "release-tools", NEWEST, &[TWINE])?;
        let twine = venv.bin("twine");
        let args = &files;
        cmd!(sh, "{twine} check --strict {args...}")
            .run()
            .context("refusing to publish: `twine check --strict` failed")?;
        let on_index = ask_index(
            sh,
            &venv,
            &check_url,
            same_origin(url, &check_url),
            &cfg.project.name,
            &files,
        )?;
        let upload = files_to_upload(&inventory, &on_index, &check_url)?;

        if self.dry_run {
            print!(
                "{}",
                render_dry_run(url, &inventory, &on_index, credentials)
            );
            return Ok(());
        }
        for (name, state) in &on_index {
            match state {
                OnIndex::Same => eprintln!("Skipping {name}: already on {check_url}, same sha256"),
                OnIndex::Present => {
                    eprintln!("Skipping {name}: already on {check_url} (no hash published)")
                }
                OnIndex::New | OnIndex::Different => {}
            }
        }
        if upload.is_empty() {
            eprintln!("==> nothing to upload: every file is already on the index");
            return Ok(());
        }
        twine_upload(sh, &twine, url, &upload, self.attestations)?;
        eprintln!("==> published {} files to {url}", upload.len());
        Ok(())
    }
}

/// Each distribution with the sha256 SHA256SUMS records for it.
fn signed_files(inventory: &Inventory) -> Vec<(&crate::artifact::Artifact, &str)> {
    inventory
        .distributions()
        .map(|a| (a, inventory.sums.get(&a.name()).map_or("", String::as_str)))
        .collect()
}

/// `twine upload` with credentials from the environment alone; with `attestations`, twine sends
/// each file's `<file>.publish.attestation` along (PEP 740).
fn twine_upload(
    sh: &Shell,
    twine: &Path,
    url: &str,
    files: &[PathBuf],
    attestations: bool,
) -> Result<()> {
    // An empty config file and a null keyring: no credential source but the environment.
    let config = crate::project_root().join("target/release-tools/empty.pypirc");
    crate::atomic::write(&config, b"")?;
    let _keyring = sh.push_env("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring");
    let args = upload_args(url, &config, files, attestations);
    cmd!(sh, "{twine} upload {args...}")
        .run()
        .with_context(|| format!("twine upload to {url}"))
}

/// `twine upload`'s arguments; with `attestations`, each file's attestation rides along.
fn upload_args(url: &str, config: &Path, files: &[PathBuf], attestations: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--non-interactive".into()];
    // twine accepts --skip-existing only for PyPI; there it closes the race with a parallel upload.
    if is_pypi(url) {
        args.push("--skip-existing".into());
    }
    if attestations {
        args.push("--attestations".into());
    }
    args.extend(["--disable-progress-bar", "--config-file"].map(OsString::from));
    args.push(config.into());
    args.extend(["--repository-url", url].map(OsString::from));
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    if attestations {
        args.extend(
            files
                .iter()
                .map(|f| attestation::path_of(f).into_os_string()),
        );
    }
    args
}

/// PyPI's simple API for PyPI and TestPyPI; pypiserver's layout (`<root>/simple/`) otherwise.
pub fn default_check_url(url: &str) -> String {
    if url.starts_with(PYPI_UPLOAD_URL) {
        "https://pypi.org/simple/".into()
    } else if url.starts_with(TESTPYPI_UPLOAD_URL) {
        "https://test.pypi.org/simple/".into()
    } else {
        format!("{}/simple/", url.trim_end_matches('/'))
    }
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// Credentials go to the check URL only when it is the upload server itself (never to PyPI's
/// public simple API, which needs none).
fn same_origin(url: &str, check_url: &str) -> bool {
    !is_pypi(url) && origin(url) == origin(check_url)
}

/// Asks the index which of `files` it holds (credentials, if any, through the environment).
fn ask_index(
    sh: &Shell,
    venv: &Venv,
    check_url: &str,
    auth: bool,
    project: &str,
    files: &[PathBuf],
) -> Result<BTreeMap<String, OnIndex>> {
    let python = venv.python();
    let script = crate::project_root().join("scripts/index_files.py");
    let auth = auth.then_some("--auth");
    let json = cmd!(
        sh,
        "{python} {script} {auth...} {check_url} {project} {files...}"
    )
    .read()
    .with_context(|| format!("asking {check_url} which files it already holds"))?;
    #[derive(serde::Deserialize)]
    struct Answer {
        files: BTreeMap<String, OnIndex>,
    }
    let answer: Answer =
        serde_json::from_str(&json).with_context(|| format!("reading the index check `{json}`"))?;
    Ok(answer.files)
}

/// The files twine must upload; refuses when the index holds any of them with other bytes.
pub fn files_to_upload(
    inventory: &Inventory,
    on_index: &BTreeMap<String, OnIndex>,
    check_url: &str,
) -> Result<Vec<PathBuf>> {
    let different: Vec<&str> = on_index
        .iter()
        .filter(|(_, s)| **s == OnIndex::Different)
        .map(|(n, _)| n.as_str())
        .collect();
    ensure!(
        different.is_empty(),
        "refusing to publish: {check_url} already holds {} with different contents; \
         a released file can never be replaced, so bump the version",
        different.join(", ")
    );
    Ok(inventory
        .distributions()
        .filter(|a| matches!(on_index.get(&a.name()), None | Some(OnIndex::New)))
        .map(|a| a.path.clone())
        .collect())
}

/// Refuses URLs that carry credentials or would send them in clear text off this machine.
pub fn check_repository_url(url: &str) -> Result<()> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("repository URL `{url}` has no scheme (https://…)"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    ensure!(
        !authority.contains('@'),
        "the repository URL must not carry credentials; set TWINE_USERNAME/TWINE_PASSWORD instead"
    );
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bail!(
            "repository URL `{url}`: only https (or http to this machine) may carry credentials"
        ),
    }
}

fn is_pypi(url: &str) -> bool {
    url.starts_with(PYPI_UPLOAD_URL) || url.starts_with(TESTPYPI_UPLOAD_URL)
}

/// Which credential source twine will use, judged from variable names only.
pub fn detect_credentials(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials> {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    if set("TWINE_PASSWORD") {
        ensure!(
            is_pypi(url) || set("TWINE_USERNAME"),
            "TWINE_PASSWORD is set but TWINE_USERNAME is not (only PyPI defaults it to __token__)"
        );
        return Ok(Credentials::Environment);
    }
    if is_pypi(url) && set("ACTIONS_ID_TOKEN_REQUEST_URL") && set("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    {
        return Ok(Credentials::TrustedPublishing);
    }
    bail!(
        "no credentials for {url}: set TWINE_USERNAME and TWINE_PASSWORD in the environment, \
         or run in GitHub Actions with `id-token: write` (trusted publishing)"
    )
}

/// What `--dry-run` prints: each file with its size, hash and fate, the target and the
/// credential source (never a value).
pub fn render_dry_run(
    url: &str,
    inventory: &Inventory,
    on_index: &BTreeMap<String, OnIndex>,
    credentials: Option<Credentials>,
) -> String {
    let mut out = String::new();
    let files: Vec<_> = inventory.distributions().collect();
    let new = files
        .iter()
        .filter(|a| matches!(on_index.get(&a.name()), None | Some(OnIndex::New)))
        .count();
    let _ = writeln!(
        out,
        "dry run: would upload {new} of {} files to {url} (the rest are already there):",
        files.len()
    );
    for asset in files {
        let size = std::fs::metadata(&asset.path).map(|m| m.len()).unwrap_or(0);
        let sha = inventory
            .sums
            .get(&asset.name())
            .map_or("?", String::as_str);
        let fate = match on_index.get(&asset.name()) {
            None | Some(OnIndex::New) => "upload",
            Some(OnIndex::Same | OnIndex::Present) => "skip (already on the index)",
            Some(OnIndex::Different) => "REFUSED (the index holds other bytes)",
        };
        let _ = writeln!(
            out,
            "  {}  {size} bytes  sha256 {sha}  {fate}",
            asset.name()
        );
    }
    let source = match credentials {
        Some(Credentials::Environment) => {
            "TWINE_USERNAME/TWINE_PASSWORD from the environment (values not shown)"
        }
        Some(Credentials::TrustedPublishing) => {
            "trusted publishing (GitHub Actions OIDC, exchanged by twine)"
        }
        None => "none found: a real run would refuse",
    };
    let _ = writeln!(out, "credentials: {source}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release_assets::fixture::fake_inventory;

    const SECRET: &str = "pypi-AgEIcHlwaS5vcmc-s3cret";

    fn env_with<'a>(vars: &'a [&'a str]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| vars.contains(&name).then(|| SECRET.to_string())
    }

    #[test]
    fn repository_urls() {
        assert!(check_repository_url(PYPI_UPLOAD_URL).is_ok());
        assert!(check_repository_url("http://127.0.0.1:8080/").is_ok());
        assert!(check_repository_url("http://localhost/").is_ok());
        let err = check_repository_url("https://user:pw@example.org/")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("must not carry credentials") && !err.contains("pw@"),
            "{err}"
        );
        assert!(check_repository_url("http://example.org/").is_err());
        assert!(check_repository_url("example.org").is_err());
    }

    #[test]
    fn credential_sources() {
        let pypi = PYPI_UPLOAD_URL;
        let local = "http://127.0.0.1:1/";
        assert_eq!(
            detect_credentials(pypi, &env_with(&["TWINE_PASSWORD"])).unwrap(),
            Credentials::Environment
        );
        assert!(detect_credentials(local, &env_with(&["TWINE_PASSWORD"])).is_err());
        assert_eq!(
            detect_credentials(local, &env_with(&["TWINE_USERNAME", "TWINE_PASSWORD"])).unwrap(),
            Credentials::Environment
        );
        let oidc = [
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ];
        assert_eq!(
            detect_credentials(pypi, &env_with(&oidc)).unwrap(),
            Credentials::TrustedPublishing
        );
        assert!(detect_credentials(local, &env_with(&oidc)).is_err());
        assert!(detect_credentials(pypi, &env_with(&[])).is_err());
    }

    #[test]
    fn credentials_are_never_printed() {
        let all = [
            "TWINE_USERNAME",
            "TWINE_PASSWORD",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ];
        let mut messages = vec![format!(
            "{:?}",
            detect_credentials(PYPI_UPLOAD_URL, &env_with(&all))
        )];
        messages.push(format!(
            "{:#}",
            detect_credentials("http://127.0.0.1:1/", &env_with(&["TWINE_PASSWORD"])).unwrap_err()
        ));
        let inventory = fake_inventory("publish-dry-run", "3.0.0");
        for creds in [
            Some(Credentials::Environment),
            Some(Credentials::TrustedPublishing),
            None,
        ] {
            messages.push(render_dry_run(
                PYPI_UPLOAD_URL,
                &inventory,
                &BTreeMap::new(),
                creds,
            ));
        }
        for message in &messages {
            assert!(!message.contains(SECRET), "a credential leaked: {message}");
        }
        assert!(messages[2].contains("values not shown"));
    }

    #[test]
    fn the_dry_run_names_every_distribution_and_its_fate() {
        let inventory = fake_inventory("publish-list", "3.0.0");
        let sdist = "mcp_sidecar-3.0.0.tar.gz".to_string();
        let on_index: BTreeMap<String, OnIndex> = [(sdist.clone(), OnIndex::Same)].into();
        let text = render_dry_run(PYPI_UPLOAD_URL, &inventory, &on_index, None);
        assert!(
            text.contains("would upload 4 of 5 files to https://upload.pypi.org/legacy/"),
            "{text}"
        );
        for (file, sha) in &inventory.sums {
            assert!(
                text.contains(&format!("{file}  ")) && text.contains(sha.as_str()),
                "{text}"
            );
        }
        assert!(
            text.lines()
                .any(|l| l.contains(&sdist) && l.contains("skip")),
            "{text}"
        );
        assert!(!text.contains("SHA256SUMS  ") && !text.contains("dist-manifest.json  "));
        assert!(text.contains("a real run would refuse"));
    }

    #[test]
    fn skip_identical_refuse_different() {
        let inventory = fake_inventory("publish-skip", "3.0.0");
        let win = "mcp_sidecar-3.0.0-py3-none-win_amd64.whl".to_string();
        let same: BTreeMap<String, OnIndex> = [(win.clone(), OnIndex::Same)].into();
        let upload = files_to_upload(&inventory, &same, "u").unwrap();
        assert_eq!(upload.len(), 4);
        assert!(!upload.iter().any(|p| p.ends_with(&win)));
        let different: BTreeMap<String, OnIndex> = [(win.clone(), OnIndex::Different)].into();
        let err = files_to_upload(&inventory, &different, "u")
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing") && err.contains(&win), "{err}");
    }

    #[test]
    fn attestations_reach_twine_only_when_asked() {
        let files = [
            PathBuf::from("d/a-1.tar.gz"),
            PathBuf::from("d/a-1-py3-none-any.whl"),
        ];
        let config = Path::new("empty.pypirc");
        let plain = upload_args("http://127.0.0.1:1/", config, &files, false);
        assert!(
            !plain
                .iter()
                .any(|a| a.to_string_lossy().contains("attestation")),
            "{plain:?}"
        );
        let signed = upload_args(PYPI_UPLOAD_URL, config, &files, true);
        for wanted in [
            "--attestations",
            "--skip-existing",
            "d/a-1.tar.gz.publish.attestation",
        ] {
            assert!(
                signed.iter().any(|a| a == wanted),
                "{wanted} not in {signed:?}"
            );
        }
        assert!(signed
            .iter()
            .any(|a| a == "d/a-1-py3-none-any.whl.publish.attestation"));
    }

    #[test]
    fn check_urls_and_where_credentials_go() {
        assert_eq!(
            default_check_url(PYPI_UPLOAD_URL),
            "https://pypi.org/simple/"
        );
        assert_eq!(
            default_check_url("https://test.pypi.org/legacy/"),
            "https://test.pypi.org/simple/"
        );
        assert_eq!(
            default_check_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/simple/"
        );
        assert!(same_origin(
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/simple/"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:9090/simple/"
        ));
        assert!(!same_origin(
            PYPI_UPLOAD_URL,
            "https://upload.pypi.org/simple/"
        ));
    }
}
