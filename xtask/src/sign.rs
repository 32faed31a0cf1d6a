//! Authenticode signing of the Windows binary with `osslsigncode`, between build and pack, when a
//! certificate is configured (README, "Signing"). The signature is deterministic: the signing time
//! is SOURCE_DATE_EPOCH, no timestamp server is asked unless `AUTHENTICODE_TIMESTAMP_URL` says so,
//! and RSA PKCS#1 v1.5 signatures have no randomness; so a signed release rebuilds to the same
//! bytes given the same certificate, and to the same Authenticode image hash without it
//! (`check::authenticode::image_digest` of the unsigned rebuild equals the signed file's).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::Engine;
use xshell::{cmd, Shell};

use crate::build::Built;
use crate::target::Target;
use crate::wheel::BinaryFormat;

/// Path of a PKCS#12 (.pfx/.p12) file holding the certificate chain and its private key.
pub const PKCS12_ENV: &str = "AUTHENTICODE_PKCS12";
/// The same file's bytes, base64 (a CI secret is text); used when `PKCS12_ENV` is unset.
pub const PKCS12_BASE64_ENV: &str = "AUTHENTICODE_PKCS12_BASE64";
/// The PKCS#12 password (may be empty; never passed on a command line).
pub const PASSWORD_ENV: &str = "AUTHENTICODE_PASSWORD";
/// An RFC 3161 timestamp server; off by default because its answer differs on every call.
pub const TIMESTAMP_URL_ENV: &str = "AUTHENTICODE_TIMESTAMP_URL";

/// Where the PKCS#12 comes from.
pub enum Pkcs12 {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// A configured certificate, its secrets in files only this process reads, removed on drop.
#[derive(Debug)]
pub struct Signer {
    dir: PathBuf,
    pkcs12: PathBuf,
    password_file: PathBuf,
    timestamp_url: Option<String>,
}

impl Signer {
    /// `None` when no certificate is configured; an error when it is half configured.
    pub fn from_env(sh: &Shell) -> Result<Option<Signer>> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (path, encoded) = (var(PKCS12_ENV), var(PKCS12_BASE64_ENV));
        let pkcs12 = match (path, encoded) {
            (Some(path), _) => Pkcs12::File(PathBuf::from(path)),
            (None, Some(encoded)) => Pkcs12::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.split_whitespace().collect::<String>())
                    .with_context(|| format!("{PKCS12_BASE64_ENV} is not base64"))?,
            ),
            (None, None) => return Ok(None),
        };
        let Some(password) = std::env::var_os(PASSWORD_ENV) else {
            bail!("{PKCS12_ENV} or {PKCS12_BASE64_ENV} is set but {PASSWORD_ENV} is not (set it, empty for a password-less file)");
        };
        let password = password
            .into_string()
            .map_err(|_| anyhow::anyhow!("{PASSWORD_ENV} is not UTF-8"))?;
        let signer = Signer::new(pkcs12, &password, var(TIMESTAMP_URL_ENV))?;
        let version = cmd!(sh, "osslsigncode --version").quiet().read()?;
        eprintln!(
            "==> sign: Authenticode with {} ({})",
            signer.describe(),
            // "osslsigncode 2.9, using:" then the OpenSSL lines.
            version.split([',', '\n']).next().unwrap_or("osslsigncode")
        );
        Ok(Some(signer))
    }

    /// A signer over `pkcs12`; its secrets go into a fresh directory only this user can read.
    pub fn new(pkcs12: Pkcs12, password: &str, timestamp_url: Option<String>) -> Result<Signer> {
        if crate::util::which("osslsigncode").is_none() {
            bail!("a certificate is configured but osslsigncode is not on PATH (scripts/setup-debian.sh installs it)");
        }
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xtask-sign-{}-{n}", std::process::id()));
        private_dir(&dir)?;
        let password_file = dir.join("password");
        write(&password_file, password.as_bytes())?;
        let pkcs12 = match pkcs12 {
            Pkcs12::File(path) => path,
            Pkcs12::Bytes(bytes) => {
                let file = dir.join("certificate.p12");
                write(&file, &bytes)?;
                file
            }
        };
        Ok(Signer {
            dir,
            pkcs12,
            password_file,
            timestamp_url,
        })
    }

    fn describe(&self) -> String {
        let time = match &self.timestamp_url {
            Some(url) => format!("timestamped by {url}: not reproducible"),
            None => "signing time SOURCE_DATE_EPOCH, no timestamp".into(),
        };
        format!("{}, {time}", self.pkcs12.display())
    }

    /// The signed copy of the PE `bytes`; `name` goes into the signature's description.
    pub fn sign_pe(&self, sh: &Shell, bytes: &[u8], name: &str, epoch: i64) -> Result<Vec<u8>> {
        let input = self.dir.join("unsigned.exe");
        let output = self.dir.join("signed.exe");
        write(&input, bytes)?;
        let _ = fs::remove_file(&output);
        let (pkcs12, password) = (&self.pkcs12, &self.password_file);
        let epoch = epoch.to_string();
        let timestamp: Vec<&str> = match &self.timestamp_url {
            Some(url) => vec!["-ts", url],
            None => Vec::new(),
        };
        cmd!(sh, "osslsigncode sign -pkcs12 {pkcs12} -readpass {password} -h sha256 -n {name} -time {epoch} {timestamp...} -in {input} -out {output}")
            .quiet()
            .ignore_stdout()
            .run()
            .context("osslsigncode sign")?;
        let signed = fs::read(&output).with_context(|| format!("reading {}", output.display()))?;
        let _ = fs::remove_file(&input);
        let _ = fs::remove_file(&output);
        Ok(signed)
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `dist`'s hook: signs `b` when it is a PE and a certificate is configured, else returns it as is.
pub fn apply(
    sh: &Shell,
    signer: Option<&Signer>,
    t: &Target,
    mut b: Built,
    epoch: i64,
) -> Result<Built> {
    let Some(signer) = signer else {
        return Ok(b);
    };
    if t.expectation.format != BinaryFormat::Pe {
        return Ok(b);
    }
    let name = Path::new(&t.binary_in_wheel)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let before = b.bytes.len();
    b.bytes = signer
        .sign_pe(sh, &b.bytes, &name, epoch)
        .with_context(|| format!("signing the {} binary", t.triple))?;
    eprintln!(
        "    signed {} (+{} bytes of signature)",
        t.binary_in_wheel,
        b.bytes.len().saturating_sub(before)
    );
    Ok(b)
}

fn private_dir(dir: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// A throwaway self-signed code-signing certificate made with the openssl CLI: what the unit
/// tests and the dist suite sign with.
pub mod throwaway {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use anyhow::{ensure, Context, Result};

    pub const PASSWORD: &str = "not-a-secret";

    pub struct Throwaway {
        pub dir: PathBuf,
    }

    impl Throwaway {
        pub fn make(tag: &str) -> Result<Throwaway> {
            let dir = std::env::temp_dir().join(format!("xtask-cert-{tag}-{}", std::process::id()));
            super::private_dir(&dir)?;
            let run = |args: &[&str]| -> Result<()> {
                let out = Command::new("openssl")
                    .args(args)
                    .current_dir(&dir)
                    .output()
                    .context("running openssl (scripts/setup-debian.sh installs it)")?;
                ensure!(
                    out.status.success(),
                    "openssl {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                Ok(())
            };
            run(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-days",
                "2",
                "-subj",
                "/CN=mcp-sidecar throwaway",
                "-addext",
                "extendedKeyUsage=codeSigning",
            ])?;
            let pass = format!("pass:{PASSWORD}");
            run(&[
                "pkcs12", "-export", "-out", "cert.p12", "-inkey", "key.pem", "-in", "cert.pem",
                "-passout", &pass,
            ])?;
            Ok(Throwaway { dir })
        }

        pub fn pkcs12(&self) -> PathBuf {
            self.dir.join("cert.p12")
        }

        #[cfg(test)]
        pub fn signer(&self) -> Result<super::Signer> {
            super::Signer::new(super::Pkcs12::File(self.pkcs12()), PASSWORD, None)
        }

        /// `osslsigncode verify` against the certificate as its own CA.
        pub fn verify(&self, exe: &[u8]) -> Result<bool> {
            let path = self.dir.join("verify.exe");
            fs::write(&path, exe).with_context(|| format!("writing {}", path.display()))?;
            let ca: &Path = &self.dir.join("cert.pem");
            let out = Command::new("osslsigncode")
                .args(["verify", "-CAfile"])
                .arg(ca)
                .arg("-in")
                .arg(&path)
                .output()
                .context("running osslsigncode (scripts/setup-debian.sh installs it)")?;
            Ok(out.status.success())
        }
    }

    impl Drop for Throwaway {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::throwaway::Throwaway;
    use super::*;
    use crate::check::fixtures;

    const EPOCH: i64 = 1_700_000_000;

    #[test]
    fn a_signed_exe_verifies_with_osslsigncode_and_signing_twice_gives_the_same_bytes() {
        let cert = Throwaway::make("ok").unwrap();
        let sh = Shell::new().unwrap();
        let unsigned = fixtures::binary("win-ok");
        let signed = cert
            .signer()
            .unwrap()
            .sign_pe(&sh, &unsigned, "mcp-sidecar", EPOCH)
            .unwrap();
        assert!(signed.len() > unsigned.len());
        assert!(
            cert.verify(&signed).unwrap(),
            "osslsigncode verify refuses the signed exe"
        );
        assert!(
            !cert.verify(&unsigned).unwrap(),
            "an unsigned exe must not verify"
        );
        let again = cert
            .signer()
            .unwrap()
            .sign_pe(&sh, &unsigned, "mcp-sidecar", EPOCH)
            .unwrap();
        assert!(
            again == signed,
            "two signings of the same bytes at one epoch differ"
        );
        let later = cert
            .signer()
            .unwrap()
            .sign_pe(&sh, &unsigned, "mcp-sidecar", EPOCH + 1)
            .unwrap();
        assert!(
            later != signed,
            "the signing time is SOURCE_DATE_EPOCH, so it is in the bytes"
        );
    }

    #[test]
    fn a_wrong_password_fails_the_signing_loudly() {
        let cert = Throwaway::make("pw").unwrap();
        let p12 = std::fs::read(cert.pkcs12()).unwrap();
        let signer = Signer::new(Pkcs12::Bytes(p12), "wrong", None).unwrap();
        let sh = Shell::new().unwrap();
        let err = signer
            .sign_pe(&sh, &fixtures::binary("win-ok"), "mcp-sidecar", EPOCH)
            .unwrap_err();
        assert!(format!("{err:#}").contains("osslsigncode sign"), "{err:#}");
    }
}
