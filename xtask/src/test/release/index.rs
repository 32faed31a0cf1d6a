//! `cargo xtask publish` end to end against a real index: pypiserver on 127.0.0.1 with upload
//! authentication. A corrupted or partial release, or `--attestations` with one file unsigned,
//! is refused with the index untouched; a good one lands; a second publish is a no-op; pip
//! installs it into a fresh venv and the installed package runs start → tools/call → stop.
//! Then `--attestations` with every file signed uploads them to a second, empty index.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use super::{
    copy_release, dist_dir, file_names, output, partial_copy, rewrite_sum, scratch, text, wheel_of,
    xtask,
};
use crate::config::Config;
use crate::publish::attestation;
use crate::python_env::{Venv, NEWEST};
use crate::release_assets::{self, Inventory, SUMS};

const PYPISERVER: &[&str] = &["pypiserver==2.4.2", "passlib==1.7.4"];
const USER: &str = "release-test";

pub fn run(sh: &Shell, cfg: &Config) -> Result<()> {
    let version = &cfg.version;
    let dist = dist_dir();
    let inventory = Inventory::load(&dist, version)
        .context("dist/ is not a complete release; run the dist suite (cargo xtask dist) first")?;
    let expected: Vec<String> = inventory.distributions().map(|a| a.name()).collect();
    let work = scratch("index")?;
    let venv = Venv::ensure(sh, "release-index", NEWEST, PYPISERVER)?;
    let password = throwaway_password();
    let htpasswd = work.join("htpasswd");
    make_htpasswd(sh, &venv, &htpasswd, &password)?;
    let packages = work.join("packages");
    std::fs::create_dir_all(&packages)?;
    let server = Server::start(&venv, &packages, &htpasswd, &work)?;
    let url = format!("http://127.0.0.1:{}/", server.port);
    let publish_to = |url: &str, dir: &Path, extra: &[&str]| -> Result<std::process::Output> {
        let dir = dir.display().to_string();
        let mut args = vec!["publish", "--repository-url", url, "--dist", &dir];
        args.extend_from_slice(extra);
        let mut command = xtask(&args)?;
        command
            .env("TWINE_USERNAME", USER)
            .env("TWINE_PASSWORD", &password);
        output(&mut command)
    };
    let publish = |dir: &Path| publish_to(&url, dir, &[]);
    let (wheel, target) = wheel_of(&dist, cfg)?;

    // Refusals first, while the index is empty: nothing of a bad release may land.
    let cases = [
        (
            "a wheel corrupted before checksumming",
            true,
            "`cargo xtask check` found problems",
        ),
        (
            "a wheel changed after checksumming",
            false,
            "but SHA256SUMS says",
        ),
    ];
    let partial = partial_copy(&dist, &work.join("dist-partial"), &wheel)?;
    let unsigned = signed_copy(&dist, &work.join("dist-unsigned"), Some(&wheel))?;
    let missing_target = format!("the wheel for {target}");
    let missing_attestation = format!("{wheel}: no {wheel}{}", attestation::SUFFIX);
    let refusals: [(&str, &Path, &[&str], &str); 2] = [
        ("a release lacking a target", &partial, &[], &missing_target),
        (
            "an unsigned file with --attestations",
            &unsigned,
            &["--attestations"],
            &missing_attestation,
        ),
    ];
    let corrupted = cases
        .iter()
        .map(|&(case, fix_sums, reason)| {
            let dir = work.join(format!("dist-corrupt-{fix_sums}"));
            Ok((case, corrupted_copy(&dist, &dir, fix_sums)?, reason))
        })
        .collect::<Result<Vec<_>>>()?;
    let refusals = corrupted
        .iter()
        .map(|(case, dir, reason)| (*case, dir.as_path(), &[][..], *reason))
        .chain(refusals);
    for (case, bad, extra, reason) in refusals {
        let before = server.listing(&password)?;
        let out = publish_to(&url, bad, extra)?;
        ensure!(
            !out.status.success(),
            "publish accepted {case}:\n{}",
            text(&out)
        );
        ensure!(
            text(&out).contains("refusing") && text(&out).contains(reason),
            "{case}: expected a refusal saying `{reason}`:\n{}",
            text(&out)
        );
        ensure!(
            file_names(&packages)?.is_empty(),
            "{case}: files reached the index: {:?}",
            file_names(&packages)?
        );
        ensure!(
            server.listing(&password)? == before,
            "{case}: the index listing changed"
        );
        ensure!(
            !text(&out).contains(&password),
            "{case}: the password was printed"
        );
    }

    // The real release lands, exactly its files, and the password is never printed.
    let out = publish(&dist)?;
    ensure!(out.status.success(), "publish failed:\n{}", text(&out));
    ensure!(
        !text(&out).contains(&password),
        "publish printed the password"
    );
    ensure!(
        file_names(&packages)? == expected,
        "index holds {:?}, expected {expected:?}",
        file_names(&packages)?
    );
    let listing = server.listing(&password)?;
    for name in &expected {
        ensure!(
            listing.contains(name.as_str()),
            "/simple/ does not list {name}:\n{listing}"
        );
    }
    let stamps = mtimes(&packages)?;

    // Publishing again is a no-op (--skip-existing), not an error.
    let out = publish(&dist)?;
    ensure!(
        out.status.success(),
        "second publish failed:\n{}",
        text(&out)
    );
    ensure!(
        text(&out).contains("Skipping"),
        "second publish did not skip:\n{}",
        text(&out)
    );
    ensure!(
        mtimes(&packages)? == stamps,
        "second publish rewrote files on the index"
    );

    // --allow-partial goes on, saying what is missing (a dry run: the index already has it all).
    let out = publish_to(&url, &partial, &["--allow-partial", "--dry-run"])?;
    ensure!(
        out.status.success()
            && text(&out).contains("partial release")
            && text(&out).contains(&missing_target),
        "publish --allow-partial did not go on naming {missing_target}:\n{}",
        text(&out)
    );

    install_and_round_trip(sh, &work, &url, &password, &version.to_string())?;
    drop(server);

    // Every file signed: twine gets --attestations and the files land on a fresh index.
    let signed = signed_copy(&dist, &work.join("dist-signed"), None)?;
    let attested_packages = work.join("packages-attested");
    std::fs::create_dir_all(&attested_packages)?;
    let attested = Server::start(&venv, &attested_packages, &htpasswd, &work)?;
    let attested_url = format!("http://127.0.0.1:{}/", attested.port);
    let out = publish_to(&attested_url, &signed, &["--attestations"])?;
    ensure!(
        out.status.success(),
        "publish --attestations failed:\n{}",
        text(&out)
    );
    ensure!(
        text(&out).contains("--attestations") && file_names(&attested_packages)? == expected,
        "publish --attestations did not run twine with --attestations or did not land {expected:?}:\n{}",
        text(&out)
    );
    eprintln!("publish: refusals (corrupt, partial, unsigned), upload, skip-existing, install, round trip, attestations ok");
    Ok(())
}

/// A copy of the release with a PEP 740-shaped attestation next to every file but `except`.
fn signed_copy(dist: &Path, to: &Path, except: Option<&str>) -> Result<PathBuf> {
    let to = copy_release(dist, to)?;
    let sums = release_assets::parse_sums(&std::fs::read_to_string(to.join(SUMS))?)?;
    for (file, sha) in sums.iter().filter(|(f, _)| Some(f.as_str()) != except) {
        let path = attestation::path_of(&to.join(file));
        std::fs::write(path, attestation::unsigned_for_tests(file, sha))?;
    }
    Ok(to)
}

/// pypiserver, killed when dropped (also when the test fails half-way).
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(venv: &Venv, packages: &Path, htpasswd: &Path, work: &Path) -> Result<Server> {
        let port = free_port()?;
        let log = work.join("pypiserver.log");
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(venv.python())
            .args([
                "-m",
                "pypiserver",
                "run",
                "-p",
                &port.to_string(),
                "-i",
                "127.0.0.1",
            ])
            .arg("-P")
            .arg(htpasswd)
            .args(["-a", "update,download,list", "--disable-fallback"])
            .arg(packages)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting pypiserver")?;
        let mut server = Server { child, port, log };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "pypiserver exited ({status}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if matches!(http_get(self.port, "/health", None), Ok((200, _))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "pypiserver did not answer on port {} within 30 s",
            self.port
        )
    }

    /// The index's own view: the project page under /simple/ (empty when nothing is there).
    fn listing(&self, password: &str) -> Result<String> {
        let (status, body) = http_get(self.port, "/simple/mcp-sidecar/", Some((USER, password)))?;
        match status {
            200 => Ok(body),
            404 => Ok(String::new()),
            other => bail!("GET /simple/mcp-sidecar/ answered {other}:\n{body}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A plain HTTP/1.0 GET (the xtask has no HTTP client, and this is all the test needs).
fn http_get(port: u16, path: &str, auth: Option<(&str, &str)>) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    if let Some((user, password)) = auth {
        request.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(format!("{user}:{password}").as_bytes())
        ));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no HTTP status in {response:?}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Random enough for a server that lives for one test on 127.0.0.1.
fn throwaway_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("pw-{:016x}{}", hasher.finish(), std::process::id())
}

/// An htpasswd file via passlib; the password travels in the environment, not argv.
fn make_htpasswd(sh: &Shell, venv: &Venv, path: &Path, password: &str) -> Result<()> {
    let python = venv.python();
    let _pw = sh.push_env("RELEASE_TEST_PASSWORD", password);
    let script = "import os, sys\nfrom passlib.apache import HtpasswdFile\n\
                  ht = HtpasswdFile(sys.argv[1], new=True)\n\
                  ht.set_password(sys.argv[2], os.environ['RELEASE_TEST_PASSWORD'])\nht.save()\n";
    cmd!(sh, "{python} -c {script} {path} {USER}")
        .quiet()
        .run()
        .context("writing the htpasswd file")
}

/// A copy of dist/ with one wheel's bytes flipped mid-file. With `fix_sums` the checksums are
/// recomputed (a wheel broken before assembly: `check` must catch it); without, they go stale.
fn corrupted_copy(dist: &Path, to: &Path, fix_sums: bool) -> Result<PathBuf> {
    let to = copy_release(dist, to)?;
    let wheel = file_names(&to)?
        .into_iter()
        .find(|n| n.ends_with(".whl"))
        .context("no wheel to corrupt")?;
    let path = to.join(&wheel);
    let mut bytes = std::fs::read(&path)?;
    let mid = bytes.len() / 2;
    let end = (mid + 64).min(bytes.len());
    for b in &mut bytes[mid..end] {
        *b ^= 0xA5;
    }
    std::fs::write(&path, bytes)?;
    if fix_sums {
        rewrite_sum(&to, &wheel)?;
    }
    Ok(to)
}

fn mtimes(dir: &Path) -> Result<Vec<(String, std::time::SystemTime)>> {
    file_names(dir)?
        .into_iter()
        .map(|n| {
            let modified = std::fs::metadata(dir.join(&n))?.modified()?;
            Ok((n, modified))
        })
        .collect()
}

/// pip installs the platform wheel from the index into a fresh venv; the installed package
/// (not the source tree) then starts the sidecar, calls a tool and stops it.
fn install_and_round_trip(
    sh: &Shell,
    work: &Path,
    url: &str,
    password: &str,
    version: &str,
) -> Result<()> {
    let venv = Venv::fresh(sh, &work.join("venv"), NEWEST)?;
    let python = venv.python();
    let index = format!(
        "http://{USER}:{password}@{}simple/",
        url.trim_start_matches("http://")
    );
    let requirement = format!("mcp-sidecar=={version}");
    {
        // Credentials via the environment; no find-links, so only our index can serve it.
        let _index = sh.push_env("PIP_INDEX_URL", &index);
        let _links = sh.push_env("PIP_FIND_LINKS", "");
        cmd!(sh, "{python} -m pip install --quiet --no-cache-dir --only-binary mcp-sidecar {requirement}")
            .run()
            .context("pip install from the local index")?;
    }
    let script = crate::project_root().join("scripts/smoke_roundtrip.py");
    let mut command = Command::new(&python);
    command
        .arg(&script)
        .args(["--expect-layout", "package"])
        .current_dir(work)
        .env_remove("PYTHONPATH")
        .env_remove("MCP_SIDECAR_BINARY");
    let out = output(&mut command)?;
    ensure!(
        out.status.success(),
        "round trip with the installed package failed:\n{}",
        text(&out)
    );
    let code = "import mcp_sidecar; print(mcp_sidecar.get_binary_path())";
    let where_out = cmd!(sh, "{python} -c {code}")
        .env_remove("MCP_SIDECAR_BINARY")
        .env_remove("PYTHONPATH")
        .read()?;
    // Canonical on both sides: Windows drive-letter case and macOS /private symlinks differ.
    let binary = std::fs::canonicalize(where_out.trim())
        .with_context(|| format!("the located binary {where_out} does not exist"))?;
    ensure!(
        binary.starts_with(std::fs::canonicalize(&venv.dir)?),
        "the installed package used a binary outside its venv: {where_out}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"user:pw"), "dXNlcjpwdw==");
    }
}
