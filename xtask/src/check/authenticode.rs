//! Authenticode: whether a PE carries a signature (a note for the report) and, when it does,
//! whether the signature is about these bytes. The PE image hash is computed here, the way
//! Windows and osslsigncode compute it: every byte of the file except the optional header's
//! CheckSum, the certificate-table directory entry and the certificate table itself, an unsigned
//! file padded with zeros to a multiple of 8. It must equal the digest in the PKCS#7
//! `SpcIndirectDataContent`, and that content's hash must equal the signer's `messageDigest`
//! attribute (which the RSA/ECDSA signature covers; the signature math is `osslsigncode verify`'s).

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Sequence, SliceReader};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::finding::{finding, Finding, Kind};
use crate::util::{le16, le32};

const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const SPC_INDIRECT_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.4");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// WIN_CERTIFICATE.wCertificateType of a PKCS#7 SignedData.
const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 2;

/// The digest algorithms a signature may name that this check can recompute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    fn of(oid: &ObjectIdentifier) -> Option<DigestAlg> {
        match oid.to_string().as_str() {
            "2.16.840.1.101.3.4.2.1" => Some(DigestAlg::Sha256),
            "2.16.840.1.101.3.4.2.2" => Some(DigestAlg::Sha384),
            "2.16.840.1.101.3.4.2.3" => Some(DigestAlg::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Sha256 => "sha256",
            DigestAlg::Sha384 => "sha384",
            DigestAlg::Sha512 => "sha512",
        }
    }

    fn hasher(self) -> Box<dyn sha2::digest::DynDigest> {
        match self {
            DigestAlg::Sha256 => Box::new(Sha256::new()),
            DigestAlg::Sha384 => Box::new(Sha384::new()),
            DigestAlg::Sha512 => Box::new(Sha512::new()),
        }
    }

    fn digest(self, bytes: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(bytes);
        h.finalize().to_vec()
    }
}

/// Where the three excluded pieces of a PE are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    checksum: usize,
    cert_entry: usize,
    /// (file offset, size) of the certificate table, when the directory entry names one.
    cert_table: Option<(usize, usize)>,
}

fn layout(b: &[u8]) -> Result<Layout, String> {
    let pe = le32(b, 0x3c).ok_or("no DOS header")? as usize;
    if b.get(pe..pe + 4) != Some(b"PE\0\0") {
        return Err("no PE signature".into());
    }
    let optional = pe + 24;
    let (directories, rva_count) = match le16(b, optional) {
        Some(0x10b) => (optional + 96, le32(b, optional + 92)),
        Some(0x20b) => (optional + 112, le32(b, optional + 108)),
        _ => return Err("no PE32 or PE32+ optional header".into()),
    };
    if rva_count.ok_or("truncated optional header")? < 5 {
        return Err("fewer than 5 data directories: no certificate-table entry".into());
    }
    let cert_entry = directories + 4 * 8;
    let offset = le32(b, cert_entry).ok_or("truncated data directories")? as usize;
    let size = le32(b, cert_entry + 4).ok_or("truncated data directories")? as usize;
    let cert_table = if size == 0 {
        None
    } else if offset < cert_entry + 8 || offset.checked_add(size) != Some(b.len()) {
        return Err(format!(
            "the certificate table ({size} bytes at {offset:#x}) is not the end of the {}-byte file",
            b.len()
        ));
    } else {
        Some((offset, size))
    };
    Ok(Layout {
        checksum: optional + 64,
        cert_entry,
        cert_table,
    })
}

/// The Authenticode image hash of `bytes`: the value a signature must carry. For an unsigned
/// file it is the digest a signature made now would carry, so a signed release and the unsigned
/// rebuild of the same commit have the same one.
pub fn image_digest(bytes: &[u8], alg: DigestAlg) -> Result<Vec<u8>, String> {
    let l = layout(bytes)?;
    let end = l.cert_table.map_or(bytes.len(), |(offset, _)| offset);
    let mut h = alg.hasher();
    h.update(&bytes[..l.checksum]);
    h.update(&bytes[l.checksum + 4..l.cert_entry]);
    h.update(&bytes[l.cert_entry + 8..end]);
    if l.cert_table.is_none() && end % 8 != 0 {
        // What a signer appends before the table; a signed file has these bytes for real.
        h.update(&[0u8; 8][..8 - end % 8]);
    }
    Ok(h.finalize().to_vec())
}

/// `bytes` without its signature: the certificate table cut off, its directory entry and the
/// CheckSum zeroed (osslsigncode computes a checksum when it signs; lld and link.exe write 0 by
/// default). For a binary the linker did not pad, this is the unsigned file byte for byte.
pub fn strip_signature(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let l = layout(bytes)?;
    let end = l.cert_table.map_or(bytes.len(), |(offset, _)| offset);
    let mut out = bytes[..end].to_vec();
    out[l.checksum..l.checksum + 4].fill(0);
    out[l.cert_entry..l.cert_entry + 8].fill(0);
    Ok(out)
}

/// DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
#[derive(Sequence)]
struct DigestInfo {
    algorithm: cms::cert::x509::spki::AlgorithmIdentifierOwned,
    digest: OctetString,
}

/// SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue, messageDigest DigestInfo }
#[derive(Sequence)]
struct SpcIndirectDataContent {
    data: Any,
    message_digest: DigestInfo,
}

/// What a signature claims: the file's digest, or (a signature strict DER cannot read) nothing.
#[derive(Debug, PartialEq, Eq)]
enum Claim {
    Digest {
        alg: DigestAlg,
        file_digest: Vec<u8>,
    },
    Unverifiable(String),
}

/// Parses the first WIN_CERTIFICATE of the table and checks the PKCS#7 inside it hangs together.
fn claim(table: &[u8]) -> Result<Claim, String> {
    let length = le32(table, 0).ok_or("truncated WIN_CERTIFICATE")? as usize;
    let kind = le16(table, 6).ok_or("truncated WIN_CERTIFICATE")?;
    if kind != WIN_CERT_TYPE_PKCS_SIGNED_DATA {
        return Err(format!(
            "certificate type {kind} (only 2, PKCS#7 SignedData, is Authenticode)"
        ));
    }
    let der = table
        .get(8..length)
        .ok_or_else(|| format!("WIN_CERTIFICATE length {length} exceeds the table"))?;
    // The entry is padded to 8 bytes after the DER: read one value, ignore what follows.
    let mut reader = SliceReader::new(der).map_err(|e| format!("PKCS#7: {e}"))?;
    let info = ContentInfo::decode(&mut reader).map_err(|e| format!("PKCS#7: {e}"))?;
    if info.content_type != SIGNED_DATA {
        return Err(format!("PKCS#7 content type {}", info.content_type));
    }
    let signed: SignedData = match info.content.decode_as() {
        Ok(signed) => signed,
        // Real signatures (ruff's, from PyPI) repeat a certificate in their SET OF, which strict
        // DER (the `cms` types) refuses: not ours to reject, but then the digest is unverified.
        Err(e) if e.kind() == der::ErrorKind::SetDuplicate => {
            return Ok(Claim::Unverifiable(format!(
                "SignedData is not strict DER ({e})"
            )))
        }
        Err(e) => return Err(format!("SignedData: {e}")),
    };
    let encap = &signed.encap_content_info;
    if encap.econtent_type != SPC_INDIRECT_DATA {
        return Err(format!(
            "content type {} instead of SpcIndirectDataContent",
            encap.econtent_type
        ));
    }
    let content = encap
        .econtent
        .as_ref()
        .ok_or("SignedData without content")?;
    let indirect: SpcIndirectDataContent = content
        .decode_as()
        .map_err(|e| format!("SpcIndirectDataContent: {e}"))?;
    let oid = indirect.message_digest.algorithm.oid;
    let alg = DigestAlg::of(&oid)
        .ok_or_else(|| format!("digest algorithm {oid} (sha256, sha384 or sha512 expected)"))?;
    let signer = signed
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or("SignedData without a signer")?;
    let signer_alg = DigestAlg::of(&signer.digest_alg.oid)
        .ok_or_else(|| format!("signer digest algorithm {}", signer.digest_alg.oid))?;
    let attribute = signer
        .signed_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .find(|a| a.oid == MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .ok_or("the signer has no messageDigest attribute")?;
    let signed_digest: OctetString = attribute
        .decode_as()
        .map_err(|e| format!("messageDigest: {e}"))?;
    // The signed digest covers SpcIndirectDataContent's value, without its tag and length.
    if signed_digest.as_bytes() != signer_alg.digest(content.value()).as_slice() {
        return Err("the signer's messageDigest is not the hash of the signed content".into());
    }
    Ok(Claim::Digest {
        alg,
        file_digest: indirect.message_digest.digest.as_bytes().to_vec(),
    })
}

/// What the PE checker adds: a note saying signed or not, and a finding for a bad signature.
pub(super) fn check(bytes: &[u8], out: &mut Vec<Finding>, notes: &mut Vec<String>) {
    let bad = |why: String| {
        finding(
            Kind::PeSignatureInvalid,
            why,
            "an Authenticode signature whose digest is the file's image hash",
        )
    };
    let layout = match layout(bytes) {
        Ok(l) => l,
        Err(why) => return out.push(bad(why)),
    };
    let Some((offset, size)) = layout.cert_table else {
        return notes.push("not Authenticode-signed".into());
    };
    let claim = match claim(&bytes[offset..offset + size]) {
        Ok(c) => c,
        Err(why) => return out.push(bad(format!("malformed signature: {why}"))),
    };
    let (alg, file_digest) = match claim {
        Claim::Digest { alg, file_digest } => (alg, file_digest),
        Claim::Unverifiable(why) => {
            return notes.push(format!("Authenticode-signed, digest not verified: {why}"))
        }
    };
    match image_digest(bytes, alg) {
        Ok(d) if d == file_digest => notes.push(format!("Authenticode-signed ({})", alg.name())),
        Ok(d) => out.push(bad(format!(
            "the signature's {} digest {} is not the file's {}: the bytes changed after signing",
            alg.name(),
            hex(&file_digest),
            hex(&d)
        ))),
        Err(why) => out.push(bad(why)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A PE with a certificate table that holds no PKCS#7: the corpus case of a malformed signature.
#[cfg(test)]
pub(crate) fn with_bogus_signature(pe: &[u8]) -> Vec<u8> {
    let l = layout(pe).expect("a PE fixture");
    let mut b = pe.to_vec();
    b.resize(b.len().next_multiple_of(8), 0);
    let at = b.len() as u32;
    // WIN_CERTIFICATE { length 16, revision 2.0, PKCS_SIGNED_DATA } then 8 bytes that are no DER.
    b.extend(16u32.to_le_bytes());
    b.extend(0x0200u16.to_le_bytes());
    b.extend(WIN_CERT_TYPE_PKCS_SIGNED_DATA.to_le_bytes());
    b.extend([0xff; 8]);
    b[l.cert_entry..l.cert_entry + 4].copy_from_slice(&at.to_le_bytes());
    b[l.cert_entry + 4..l.cert_entry + 8].copy_from_slice(&16u32.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest layout `layout` accepts: a DOS stub pointing at a PE32+ header.
    fn skeleton(cert: Option<(u32, u32)>, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[0x3c] = 0x40;
        b[0x40..0x44].copy_from_slice(b"PE\0\0");
        let opt = 0x40 + 24;
        b[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        b[opt + 108..opt + 112].copy_from_slice(&16u32.to_le_bytes());
        if let Some((at, size)) = cert {
            let entry = opt + 112 + 32;
            b[entry..entry + 4].copy_from_slice(&at.to_le_bytes());
            b[entry + 4..entry + 8].copy_from_slice(&size.to_le_bytes());
        }
        b
    }

    use crate::check::finding::Kind;
    use crate::check::{check_binary_bytes, fixtures};
    use crate::sign::throwaway::Throwaway;

    const WIN: &str = "win_amd64";

    fn signed_fixture(cert: &Throwaway) -> Vec<u8> {
        let sh = xshell::Shell::new().unwrap();
        let unsigned = fixtures::binary("win-ok");
        cert.signer()
            .unwrap()
            .sign_pe(&sh, &unsigned, "mcp-sidecar", 1_700_000_000)
            .unwrap()
    }

    #[test]
    fn a_signed_exe_passes_check_and_its_digest_is_the_unsigned_rebuilds() {
        let cert = Throwaway::make("check").unwrap();
        let signed = signed_fixture(&cert);
        assert!(cert.verify(&signed).unwrap());
        assert_eq!(check_binary_bytes(&signed, WIN), []);
        let mut notes = Vec::new();
        check(&signed, &mut Vec::new(), &mut notes);
        assert_eq!(notes, ["Authenticode-signed (sha256)"]);
        let unsigned = fixtures::binary("win-ok");
        check(&unsigned, &mut Vec::new(), &mut notes);
        assert_eq!(notes[1], "not Authenticode-signed");
        // What verify-release can rely on: the signature is over the unsigned rebuild's hash.
        assert_eq!(
            image_digest(&signed, DigestAlg::Sha256),
            image_digest(&unsigned, DigestAlg::Sha256)
        );
        assert!(strip_signature(&signed).unwrap() == unsigned);
    }

    #[test]
    fn one_byte_changed_after_signing_is_a_check_finding() {
        let cert = Throwaway::make("flip").unwrap();
        let signed = signed_fixture(&cert);
        // A byte of the first section's code, far from the headers and the table at the end.
        let mut flipped = signed.clone();
        flipped[0x600] ^= 0x01;
        let kinds: Vec<Kind> = check_binary_bytes(&flipped, WIN)
            .into_iter()
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, [Kind::PeSignatureInvalid]);
        assert!(
            !cert.verify(&flipped).unwrap(),
            "osslsigncode agrees the file changed"
        );
        // The CheckSum field is outside the hash: changing it breaks nothing.
        let mut checksum = signed.clone();
        let l = layout(&signed).unwrap();
        checksum[l.checksum] ^= 0xff;
        assert_eq!(check_binary_bytes(&checksum, WIN), []);
        // The file digest inside the signature changed: the signer's messageDigest catches it.
        let digest = image_digest(&signed, DigestAlg::Sha256).unwrap();
        let (offset, _) = l.cert_table.unwrap();
        let at = offset
            + signed[offset..]
                .windows(digest.len())
                .position(|w| w == digest.as_slice())
                .expect("the signature carries the file digest");
        let mut sig = signed.clone();
        sig[at] ^= 0x01;
        let kinds: Vec<Kind> = check_binary_bytes(&sig, WIN)
            .into_iter()
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, [Kind::PeSignatureInvalid]);
    }

    #[test]
    fn the_image_hash_skips_the_checksum_and_the_certificate_entry_but_not_other_bytes() {
        let base = skeleton(None, 0x200);
        let digest = |b: &[u8]| image_digest(b, DigestAlg::Sha256).unwrap();
        let opt = 0x40 + 24;
        let mut changed = base.clone();
        changed[opt + 64] ^= 0xff;
        assert_eq!(digest(&changed), digest(&base), "CheckSum is excluded");
        let mut changed = base.clone();
        changed[0x1ff] ^= 1;
        assert_ne!(digest(&changed), digest(&base), "the last byte counts");
        // A signed copy: same bytes, an 8-aligned table appended and the entry pointing at it.
        let mut signed = skeleton(Some((0x200, 16)), 0x210);
        signed[opt + 64] = 7;
        assert_eq!(
            digest(&signed),
            digest(&base),
            "entry and table are excluded"
        );
    }

    #[test]
    fn an_unsigned_file_hashes_as_if_padded_to_eight_bytes() {
        let mut odd = skeleton(None, 0x203);
        odd[0x202] = 1;
        let mut padded = odd.clone();
        padded.extend([0; 5]);
        assert_eq!(
            image_digest(&odd, DigestAlg::Sha256),
            image_digest(&padded, DigestAlg::Sha256)
        );
    }

    #[test]
    fn a_certificate_table_that_is_not_the_file_end_is_refused() {
        assert!(layout(&skeleton(Some((0x100, 16)), 0x200)).is_err());
        assert!(layout(&skeleton(Some((0x1f8, 16)), 0x200)).is_err());
        assert!(layout(&skeleton(Some((0x1f0, 16)), 0x200)).is_ok());
        assert!(layout(b"MZ").is_err());
    }
}
