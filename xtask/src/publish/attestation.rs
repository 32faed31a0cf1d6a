//! PEP 740 publish attestations as `twine upload --attestations` reads them: `<file>.publish.attestation`
//! next to each distribution (what `python -m pypi_attestations sign` writes). Before an upload
//! each one must parse as an attestation whose signed in-toto statement names exactly its file
//! and that file's sha256, so a stale or mismatched attestation stops the run, not the index.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use base64::Engine as _;
use serde::Deserialize;

use crate::artifact::Artifact;

pub const SUFFIX: &str = ".publish.attestation";
const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
const PUBLISH_PREDICATE: &str = "https://docs.pypi.org/attestations/publish/v1";

/// PEP 740's `Attestation` object (version 1), the fields this check reads.
#[derive(Deserialize)]
struct Attestation {
    version: u32,
    verification_material: VerificationMaterial,
    envelope: Envelope,
}

#[derive(Deserialize)]
struct VerificationMaterial {
    certificate: String,
    transparency_entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Envelope {
    statement: String,
    signature: String,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
}

#[derive(Deserialize)]
struct Subject {
    name: String,
    digest: std::collections::BTreeMap<String, String>,
}

pub fn path_of(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// Every distribution's attestation, or one error naming each file that lacks a valid one.
pub fn require(files: &[(&Artifact, &str)]) -> Result<Vec<PathBuf>> {
    let mut problems = Vec::new();
    for (artifact, sha256) in files {
        let path = path_of(&artifact.path);
        if let Err(e) = check(&path, &artifact.name(), sha256) {
            problems.push(format!("  {}: {e:#}", artifact.name()));
        }
    }
    ensure!(
        problems.is_empty(),
        "refusing to publish with --attestations: {} of {} files lack a valid `<file>{SUFFIX}` \
         (sign them with `python -m pypi_attestations sign`):\n{}",
        problems.len(),
        files.len(),
        problems.join("\n")
    );
    Ok(files.iter().map(|(a, _)| path_of(&a.path)).collect())
}

/// One attestation file: present, PEP 740 shaped, and signed over `name` with `sha256`.
pub fn check(path: &Path, name: &str, sha256: &str) -> Result<()> {
    let text = std::fs::read(path).with_context(|| format!("no {}", display_name(path)))?;
    let attestation: Attestation = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a PEP 740 attestation", display_name(path)))?;
    ensure!(
        attestation.version == 1,
        "attestation version {} (PEP 740 defines 1)",
        attestation.version
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let material = &attestation.verification_material;
    ensure!(
        b64.decode(&material.certificate)
            .is_ok_and(|c| !c.is_empty()),
        "the verification material's certificate is not base64 DER"
    );
    ensure!(
        !material.transparency_entries.is_empty(),
        "no transparency log entry"
    );
    ensure!(
        b64.decode(&attestation.envelope.signature)
            .is_ok_and(|s| !s.is_empty()),
        "the envelope's signature is not base64"
    );
    let statement = b64
        .decode(&attestation.envelope.statement)
        .context("the envelope's statement is not base64")?;
    let statement: Statement = serde_json::from_slice(&statement)
        .context("the envelope's statement is not an in-toto statement")?;
    ensure!(
        statement.kind == STATEMENT_TYPE && statement.predicate_type == PUBLISH_PREDICATE,
        "the statement is a `{}` of `{}`, not a PyPI publish attestation",
        statement.kind,
        statement.predicate_type
    );
    ensure!(
        statement
            .subject
            .iter()
            .any(|s| s.name == name && s.digest.get("sha256").map(String::as_str) == Some(sha256)),
        "the statement is signed over {}, not over {name} with sha256 {sha256}",
        statement
            .subject
            .iter()
            .map(|s| format!("{} ({:?})", s.name, s.digest.get("sha256")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A PEP 740-shaped attestation over `name`/`sha256` with made-up signature bytes: what the
/// release suite signs with, since there is no OIDC identity here.
pub fn unsigned_for_tests(name: &str, sha256: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let statement = serde_json::json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": sha256}}],
        "predicateType": PUBLISH_PREDICATE,
        "predicate": null,
    });
    serde_json::json!({
        "version": 1,
        "verification_material": {
            "certificate": b64.encode(b"not a real certificate"),
            "transparency_entries": [{"logIndex": "0"}],
        },
        "envelope": {
            "statement": b64.encode(statement.to_string()),
            "signature": b64.encode(b"not a real signature"),
        },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        crate::util::test_scratch("attest", name)
    }

    #[test]
    fn an_attestation_must_be_pep740_and_name_its_file() {
        let dir = scratch("check");
        let sha = "ab".repeat(32);
        let path = dir.join("a-1.tar.gz.publish.attestation");
        let err = check(&path, "a-1.tar.gz", &sha).unwrap_err();
        assert!(
            format!("{err:#}").contains("no a-1.tar.gz.publish.attestation"),
            "{err:#}"
        );
        std::fs::write(&path, "{\"version\": 1}").unwrap();
        let err = check(&path, "a-1.tar.gz", &sha).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a PEP 740 attestation"),
            "{err:#}"
        );
        std::fs::write(&path, unsigned_for_tests("a-1.tar.gz", &sha)).unwrap();
        check(&path, "a-1.tar.gz", &sha).unwrap();
        let err = check(&path, "a-1.tar.gz", &"cd".repeat(32)).unwrap_err();
        assert!(
            format!("{err:#}").contains("not over a-1.tar.gz"),
            "{err:#}"
        );
        let err = check(&path, "b-1.tar.gz", &sha).unwrap_err();
        assert!(
            format!("{err:#}").contains("signed over a-1.tar.gz"),
            "{err:#}"
        );
    }
}
