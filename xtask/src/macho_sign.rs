//! Mach-O code signatures: parse LC_CODE_SIGNATURE → SuperBlob → CodeDirectory, verify every
//! page hash against the file, and re-sign ad hoc after a post-link edit.
//!
//! macOS kills arm64 code that is unsigned or whose page hashes do not match, so anything that
//! edits a Mach-O after linking (strip, patching) must re-sign it last. `resign_adhoc` writes the
//! same kind of signature ld64/lld/zig put on arm64 output: one SHA-256 CodeDirectory flagged
//! ad hoc + linker-signed, no requirements, no CMS blob.

use sha2::{Digest, Sha256, Sha384};

use crate::util::{be32, be64, le32, le64};

const MH_MAGIC: u32 = 0xfeed_face;
const MH_MAGIC_64: u32 = 0xfeed_facf;
const FAT_MAGIC: u32 = 0xcafe_babe;
const FAT_MAGIC_64: u32 = 0xcafe_babf;
const MH_EXECUTE: u32 = 2;
const LC_SEGMENT_64: u32 = 0x19;
const LC_CODE_SIGNATURE: u32 = 0x1d;
const SEGMENT_64_LEN: usize = 72;
const SECTION_64_LEN: usize = 80;

const CSMAGIC_EMBEDDED_SIGNATURE: u32 = 0xfade_0cc0;
const CSMAGIC_CODEDIRECTORY: u32 = 0xfade_0c02;
const CSMAGIC_REQUIREMENTS: u32 = 0xfade_0c01;
const CSMAGIC_EMBEDDED_ENTITLEMENTS: u32 = 0xfade_7171;
const CSMAGIC_EMBEDDED_DER_ENTITLEMENTS: u32 = 0xfade_7172;
const CSMAGIC_BLOBWRAPPER: u32 = 0xfade_0b01;
const CSSLOT_CODEDIRECTORY: u32 = 0;
const CSSLOT_ALTERNATE_FIRST: u32 = 0x1000;
const CSSLOT_ALTERNATE_LAST: u32 = 0x1004;
const CSSLOT_SIGNATURESLOT: u32 = 0x1_0000;
const CS_ADHOC: u32 = 0x2;
const CS_LINKER_SIGNED: u32 = 0x2_0000;
const CS_EXECSEG_MAIN_BINARY: u64 = 0x1;
const CD_VERSION_EXECSEG: u32 = 0x2_0400;
const CD_VERSION_CODELIMIT64: u32 = 0x2_0300;
const CD_VERSION_SCATTER: u32 = 0x2_0100;
/// Every field up to and including `execSegFlags` (version 0x20400).
const CD_HEADER_LEN: usize = 88;
const CD_MIN_LEN: usize = 44;
const HASH_SHA256: u8 = 2;
/// ld64 and lld sign with 4 KiB pages; the kernel accepts any page size it can map.
const DEFAULT_PAGE_SHIFT: u8 = 12;
/// Grows __LINKEDIT's vmsize in 16 KiB steps, the arm64 page size.
const VM_PAGE: u64 = 0x4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum HashType {
    Sha256,
    Sha256Truncated,
    Sha384,
}

impl HashType {
    fn from_code(code: u8) -> Result<Self, SignError> {
        match code {
            2 => Ok(HashType::Sha256),
            3 => Ok(HashType::Sha256Truncated),
            4 => Ok(HashType::Sha384),
            other => Err(SignError::UnsupportedHashType(other)),
        }
    }

    fn len(self) -> usize {
        match self {
            HashType::Sha256 => 32,
            HashType::Sha256Truncated => 20,
            HashType::Sha384 => 48,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashType::Sha256 => Sha256::digest(data).to_vec(),
            HashType::Sha256Truncated => Sha256::digest(data)[..20].to_vec(),
            HashType::Sha384 => Sha384::digest(data).to_vec(),
        }
    }
}

/// What `verify` found in a signature whose every page hash matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureInfo {
    pub identifier: String,
    pub hash_type: HashType,
    /// Bytes per hashed page (the whole code when the CodeDirectory says page size 0).
    pub page_size: u64,
    pub pages: usize,
    pub code_limit: u64,
    pub flags: u32,
    pub adhoc: bool,
    pub linker_signed: bool,
    /// CodeDirectories verified (a SHA-1 one next to a SHA-256 one is skipped, not trusted).
    pub code_directories: usize,
    /// A CMS blob with content: signed with a certificate (not checked here).
    pub has_cms: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("not a Mach-O file (magic {0:#010x})")]
    NotMachO(u32),
    #[error("a universal (fat) Mach-O: verify or sign each architecture slice separately")]
    Fat,
    #[error("malformed Mach-O: {0}")]
    Malformed(String),
    #[error("no LC_CODE_SIGNATURE load command: the binary is unsigned")]
    NoCodeSignature,
    #[error("malformed code signature: {0}")]
    BadSignature(String),
    #[error("the signature has no CodeDirectory this verifier supports (found hash types: {0})")]
    NoUsableCodeDirectory(String),
    #[error("CodeDirectory hash type {0} is not supported (SHA-256, SHA-256/20, SHA-384)")]
    UnsupportedHashType(u8),
    #[error("CodeDirectory code limit {code_limit} is not where the signature starts ({sig_offset}): bytes would go unhashed")]
    CodeLimit { code_limit: u64, sig_offset: u64 },
    #[error("{count} of {pages} page hashes do not match the file (first: page {first}, bytes {offset:#x}..{end:#x}); the file was edited after signing")]
    PageHashMismatch {
        count: usize,
        pages: usize,
        first: usize,
        offset: u64,
        end: u64,
    },
    #[error("special slot {slot} does not match the signature's {what} blob")]
    SpecialSlotMismatch { slot: u32, what: &'static str },
    #[error("cannot re-sign: {0}")]
    CannotSign(String),
}

struct LoadCommand {
    offset: usize,
    cmd: u32,
    size: usize,
}

struct Segment {
    cmd_offset: usize,
    name: [u8; 16],
    vmsize: u64,
    fileoff: u64,
    filesize: u64,
    /// Lowest file offset of any section's contents (for the room left after the load commands).
    first_section_offset: Option<u64>,
}

struct MachFile {
    is_64: bool,
    filetype: u32,
    header_len: usize,
    ncmds: u32,
    sizeofcmds: usize,
    /// Where the last load command ends (at most `header_len + sizeofcmds`).
    commands_end: usize,
    commands: Vec<LoadCommand>,
}

fn parse_macho(bytes: &[u8]) -> Result<MachFile, SignError> {
    let magic =
        le32(bytes, 0).ok_or_else(|| SignError::Malformed("shorter than 4 bytes".into()))?;
    let be_magic = be32(bytes, 0).unwrap_or(0);
    if matches!(be_magic, FAT_MAGIC | FAT_MAGIC_64) {
        return Err(SignError::Fat);
    }
    let (is_64, header_len): (bool, usize) = match magic {
        MH_MAGIC_64 => (true, 32),
        MH_MAGIC => (false, 28),
        other => return Err(SignError::NotMachO(other)),
    };
    let header = |at: usize| {
        le32(bytes, at).ok_or_else(|| SignError::Malformed("truncated Mach-O header".into()))
    };
    let filetype = header(12)?;
    let ncmds = header(16)?;
    let sizeofcmds = header(20)? as usize;
    let cmds_end = header_len
        .checked_add(sizeofcmds)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            SignError::Malformed(format!(
                "load commands ({sizeofcmds} bytes) run past the file"
            ))
        })?;
    let mut commands = Vec::new();
    let mut at = header_len;
    for i in 0..ncmds {
        let (Some(cmd), Some(size)) = (le32(bytes, at), le32(bytes, at + 4)) else {
            return Err(SignError::Malformed(format!(
                "load command {i} is truncated"
            )));
        };
        let size = size as usize;
        let end = at.checked_add(size).filter(|&e| e <= cmds_end && size >= 8);
        let Some(end) = end else {
            return Err(SignError::Malformed(format!(
                "load command {i} ({cmd:#x}, {size} bytes at {at}) runs past sizeofcmds"
            )));
        };
        commands.push(LoadCommand {
            offset: at,
            cmd,
            size,
        });
        at = end;
    }
    Ok(MachFile {
        is_64,
        filetype,
        header_len,
        ncmds,
        sizeofcmds,
        commands_end: at,
        commands,
    })
}

impl MachFile {
    fn code_signature(&self, bytes: &[u8]) -> Result<Option<(usize, u64, u64)>, SignError> {
        let Some(lc) = self.commands.iter().find(|c| c.cmd == LC_CODE_SIGNATURE) else {
            return Ok(None);
        };
        match (
            lc.size >= 16,
            le32(bytes, lc.offset + 8),
            le32(bytes, lc.offset + 12),
        ) {
            (true, Some(off), Some(size)) => Ok(Some((lc.offset, u64::from(off), u64::from(size)))),
            _ => Err(SignError::Malformed(
                "LC_CODE_SIGNATURE is truncated".into(),
            )),
        }
    }

    fn segments(&self, bytes: &[u8]) -> Vec<Segment> {
        let mut out = Vec::new();
        for lc in self.commands.iter().filter(|c| c.cmd == LC_SEGMENT_64) {
            if lc.size < SEGMENT_64_LEN {
                continue;
            }
            let o = lc.offset;
            let mut name = [0u8; 16];
            if let Some(n) = bytes.get(o + 8..o + 24) {
                name.copy_from_slice(n);
            }
            let nsects = le32(bytes, o + 64).unwrap_or(0) as usize;
            let first_section_offset = (0..nsects)
                .map_while(|i| {
                    let s = o + SEGMENT_64_LEN + i * SECTION_64_LEN;
                    (s + SECTION_64_LEN <= o + lc.size).then(|| le32(bytes, s + 48))?
                })
                .filter(|&off| off != 0)
                .map(u64::from)
                .min();
            out.push(Segment {
                cmd_offset: o,
                name,
                vmsize: le64(bytes, o + 32).unwrap_or(0),
                fileoff: le64(bytes, o + 40).unwrap_or(0),
                filesize: le64(bytes, o + 48).unwrap_or(0),
                first_section_offset,
            });
        }
        out
    }
}

fn segname(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..name.len()].copy_from_slice(name.as_bytes());
    out
}

/// Verifies the embedded signature: structure, code limit, every page hash and the special slots
/// of blobs the signature carries.
pub fn verify(bytes: &[u8]) -> Result<SignatureInfo, SignError> {
    let mach = parse_macho(bytes)?;
    let (_, dataoff, datasize) = mach
        .code_signature(bytes)?
        .ok_or(SignError::NoCodeSignature)?;
    let bad = |what: String| SignError::BadSignature(what);
    let sig = usize::try_from(dataoff)
        .ok()
        .zip(usize::try_from(datasize).ok())
        .and_then(|(o, s)| bytes.get(o..o.checked_add(s)?))
        .ok_or_else(|| {
            bad(format!(
                "signature {dataoff}+{datasize} lies outside the {}-byte file",
                bytes.len()
            ))
        })?;
    if be32(sig, 0) != Some(CSMAGIC_EMBEDDED_SIGNATURE) {
        return Err(bad(format!(
            "SuperBlob magic is {:#010x}, expected {CSMAGIC_EMBEDDED_SIGNATURE:#010x}",
            be32(sig, 0).unwrap_or(0)
        )));
    }
    let length = be32(sig, 4).unwrap_or(0) as usize;
    let count = be32(sig, 8).unwrap_or(0) as usize;
    let superblob = sig.get(..length).filter(|_| length >= 12).ok_or_else(|| {
        bad(format!(
            "SuperBlob length {length} exceeds LC_CODE_SIGNATURE's {datasize}"
        ))
    })?;
    if count
        .checked_mul(8)
        .and_then(|n| n.checked_add(12))
        .is_none_or(|n| n > length)
    {
        return Err(bad(format!(
            "SuperBlob index of {count} entries exceeds its length {length}"
        )));
    }
    let mut blobs = Vec::with_capacity(count);
    for i in 0..count {
        let slot = be32(superblob, 12 + 8 * i).unwrap_or(0);
        let offset = be32(superblob, 16 + 8 * i).unwrap_or(0) as usize;
        let magic = be32(superblob, offset);
        let blob_len = be32(superblob, offset.saturating_add(4)).unwrap_or(0) as usize;
        let blob = magic
            .and_then(|_| superblob.get(offset..offset.checked_add(blob_len)?))
            .filter(|_| blob_len >= 8)
            .ok_or_else(|| {
                bad(format!(
                    "blob {i} (slot {slot:#x}) at {offset} lies outside the SuperBlob"
                ))
            })?;
        blobs.push((slot, magic.unwrap_or(0), blob));
    }
    let mut verified: Vec<SignatureInfo> = Vec::new();
    let mut skipped = Vec::new();
    let has_cms = blobs.iter().any(|(slot, magic, blob)| {
        *slot == CSSLOT_SIGNATURESLOT && *magic == CSMAGIC_BLOBWRAPPER && blob.len() > 8
    });
    for (slot, magic, blob) in &blobs {
        let is_cd_slot = *slot == CSSLOT_CODEDIRECTORY
            || (CSSLOT_ALTERNATE_FIRST..=CSSLOT_ALTERNATE_LAST).contains(slot);
        if !is_cd_slot {
            continue;
        }
        if *magic != CSMAGIC_CODEDIRECTORY {
            return Err(bad(format!(
                "slot {slot:#x} holds magic {magic:#010x}, expected a CodeDirectory ({CSMAGIC_CODEDIRECTORY:#010x})"
            )));
        }
        match verify_code_directory(blob, bytes, dataoff, &blobs) {
            Ok(mut info) => {
                info.has_cms = has_cms;
                verified.push(info);
            }
            Err(SignError::UnsupportedHashType(t)) => skipped.push(t.to_string()),
            Err(e) => return Err(e),
        }
    }
    let count = verified.len();
    let mut best = verified
        .into_iter()
        .max_by_key(|i| i.hash_type == HashType::Sha256)
        .ok_or_else(|| {
            if skipped.is_empty() {
                bad("no CodeDirectory in the SuperBlob".into())
            } else {
                SignError::NoUsableCodeDirectory(skipped.join(", "))
            }
        })?;
    best.code_directories = count;
    Ok(best)
}

fn verify_code_directory(
    cd: &[u8],
    file: &[u8],
    sig_offset: u64,
    blobs: &[(u32, u32, &[u8])],
) -> Result<SignatureInfo, SignError> {
    let bad = |what: String| SignError::BadSignature(what);
    if cd.len() < CD_MIN_LEN {
        return Err(bad(format!(
            "CodeDirectory is {} bytes, shorter than its header",
            cd.len()
        )));
    }
    let f32_ = |at: usize| be32(cd, at).unwrap_or(0);
    let version = f32_(8);
    let flags = f32_(12);
    let hash_offset = f32_(16) as usize;
    let ident_offset = f32_(20) as usize;
    let n_special = f32_(24) as usize;
    let n_code = f32_(28) as usize;
    let mut code_limit = u64::from(f32_(32));
    let hash_size = usize::from(cd[36]);
    let hash_type = HashType::from_code(cd[37])?;
    let page_shift = cd[39];
    if version >= CD_VERSION_SCATTER && be32(cd, 44).is_some_and(|s| s != 0) {
        return Err(bad(
            "scatter lists are not used by Mach-O executables".into()
        ));
    }
    if version >= CD_VERSION_CODELIMIT64 {
        if let Some(limit64) = be64(cd, 56).filter(|&l| l != 0) {
            code_limit = limit64;
        }
    }
    if hash_size != hash_type.len() {
        return Err(bad(format!(
            "hash size {hash_size} does not fit hash type {hash_type:?} ({} bytes)",
            hash_type.len()
        )));
    }
    if code_limit != sig_offset {
        return Err(SignError::CodeLimit {
            code_limit,
            sig_offset,
        });
    }
    let page_size: u64 = match page_shift {
        0 => code_limit.max(1),
        9..=16 => 1 << page_shift,
        p => return Err(bad(format!("page size 2^{p} is implausible"))),
    };
    let expected_slots = code_limit.div_ceil(page_size);
    if n_code as u64 != expected_slots {
        return Err(bad(format!(
            "{n_code} code slots for a code limit of {code_limit} bytes in {page_size}-byte pages (expected {expected_slots})"
        )));
    }
    let special_len = n_special.checked_mul(hash_size);
    let hashes_end = n_code
        .checked_mul(hash_size)
        .and_then(|n| n.checked_add(hash_offset));
    if special_len.is_none_or(|s| s > hash_offset) || hashes_end.is_none_or(|e| e > cd.len()) {
        return Err(bad(format!(
            "hash slots ({n_special} special + {n_code} code at offset {hash_offset}) lie outside the {}-byte CodeDirectory",
            cd.len()
        )));
    }
    let identifier = cd
        .get(ident_offset..)
        .and_then(|rest| rest.iter().position(|&b| b == 0).map(|end| &rest[..end]))
        .map(|id| String::from_utf8_lossy(id).into_owned())
        .ok_or_else(|| {
            bad(format!(
                "identifier at {ident_offset} is not a NUL-terminated string"
            ))
        })?;
    // Code is hashed from the file as it is: the limit equals the signature offset, so it is in bounds.
    let code = file
        .get(..usize::try_from(code_limit).unwrap_or(usize::MAX))
        .ok_or_else(|| {
            bad(format!(
                "code limit {code_limit} is past the end of the file"
            ))
        })?;
    let mut mismatches = Vec::new();
    let page = usize::try_from(page_size).unwrap_or(usize::MAX);
    for (i, chunk) in code.chunks(page).enumerate() {
        let slot = &cd[hash_offset + i * hash_size..hash_offset + (i + 1) * hash_size];
        if hash_type.digest(chunk) != slot {
            mismatches.push(i);
        }
    }
    if let Some(&first) = mismatches.first() {
        let offset = first as u64 * page_size;
        return Err(SignError::PageHashMismatch {
            count: mismatches.len(),
            pages: n_code,
            first,
            offset,
            end: (offset + page_size).min(code_limit),
        });
    }
    // Special slots count down from the code hashes: slot k lives at hash_offset - k * size.
    for (slot, magic, blob) in blobs {
        let what = match *magic {
            CSMAGIC_REQUIREMENTS => "requirements",
            CSMAGIC_EMBEDDED_ENTITLEMENTS => "entitlements",
            CSMAGIC_EMBEDDED_DER_ENTITLEMENTS => "DER entitlements",
            _ => continue,
        };
        let k = *slot as usize;
        if k == 0 || k > n_special {
            continue;
        }
        let at = hash_offset - k * hash_size;
        if hash_type.digest(blob) != cd[at..at + hash_size] {
            return Err(SignError::SpecialSlotMismatch { slot: *slot, what });
        }
    }
    Ok(SignatureInfo {
        identifier,
        hash_type,
        page_size,
        pages: n_code,
        code_limit,
        flags,
        adhoc: flags & CS_ADHOC != 0,
        linker_signed: flags & CS_LINKER_SIGNED != 0,
        code_directories: 1,
        has_cms: false,
    })
}

/// Replaces (or adds) the signature with an ad hoc, linker-style one over the file as it is now.
/// Call it after the last edit to the Mach-O (strip first, then sign).
pub fn resign_adhoc(bytes: &[u8], identifier: &str) -> Result<Vec<u8>, SignError> {
    resign_adhoc_with_page_shift(bytes, identifier, DEFAULT_PAGE_SHIFT)
}

pub(crate) fn resign_adhoc_with_page_shift(
    bytes: &[u8],
    identifier: &str,
    page_shift: u8,
) -> Result<Vec<u8>, SignError> {
    let cannot = |what: String| SignError::CannotSign(what);
    if !(9..=16).contains(&page_shift) {
        return Err(cannot(format!("page size 2^{page_shift} is implausible")));
    }
    if identifier.is_empty() || identifier.contains('\0') {
        return Err(cannot(format!(
            "identifier {identifier:?} must be non-empty and NUL-free"
        )));
    }
    let mach = parse_macho(bytes)?;
    if !mach.is_64 {
        return Err(cannot("32-bit Mach-O is not supported".into()));
    }
    let segments = mach.segments(bytes);
    let linkedit = segments
        .iter()
        .find(|s| s.name == segname("__LINKEDIT"))
        .ok_or_else(|| cannot("no __LINKEDIT segment".into()))?;
    let text = segments.iter().find(|s| s.name == segname("__TEXT"));
    let linkedit_end = linkedit
        .fileoff
        .checked_add(linkedit.filesize)
        .ok_or_else(|| cannot("__LINKEDIT size overflows".into()))?;
    let existing = mach.code_signature(bytes)?;
    let code_limit = match existing {
        Some((_, dataoff, _)) => {
            if dataoff < linkedit.fileoff || dataoff > bytes.len() as u64 {
                return Err(cannot(format!(
                    "the old signature at {dataoff} is not inside __LINKEDIT ({}..{linkedit_end})",
                    linkedit.fileoff
                )));
            }
            dataoff
        }
        None => {
            if linkedit_end != bytes.len() as u64 {
                return Err(cannot(format!(
                    "__LINKEDIT ends at {linkedit_end} but the file has {} bytes",
                    bytes.len()
                )));
            }
            linkedit_end.next_multiple_of(16)
        }
    };
    if code_limit < (mach.header_len + mach.sizeofcmds + 16) as u64 {
        return Err(cannot(format!(
            "the signature offset {code_limit} is inside the load commands"
        )));
    }
    for seg in &segments {
        let end = seg.fileoff.saturating_add(seg.filesize);
        if seg.name != linkedit.name && end > code_limit {
            return Err(cannot(format!(
                "segment {} ends at {end}, after where the signature goes ({code_limit})",
                String::from_utf8_lossy(&seg.name).trim_end_matches('\0')
            )));
        }
    }
    let code_limit_32 = u32::try_from(code_limit)
        .map_err(|_| cannot(format!("code limit {code_limit} needs a 64-bit code limit")))?;
    let page = 1u64 << page_shift;
    let n_code = code_limit.div_ceil(page) as usize;
    let hash_offset = CD_HEADER_LEN + identifier.len() + 1;
    let cd_len = hash_offset + n_code * 32;
    let superblob_len = 12 + 8 + cd_len;
    let datasize = superblob_len.next_multiple_of(16);
    let to_u32 = |n: usize| {
        u32::try_from(n).map_err(|_| cannot(format!("{n} bytes of signature overflows")))
    };

    let mut out = bytes
        .get(..code_limit as usize)
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| bytes.to_vec());
    out.resize(code_limit as usize, 0);
    // Patch the load commands first: they are inside the hashed code.
    match existing {
        Some((lc, _, _)) => {
            out[lc + 8..lc + 12].copy_from_slice(&code_limit_32.to_le_bytes());
            out[lc + 12..lc + 16].copy_from_slice(&to_u32(datasize)?.to_le_bytes());
        }
        None => {
            let at = mach.header_len + mach.sizeofcmds;
            if mach.commands_end != at {
                return Err(cannot(format!(
                    "load commands end at {} but sizeofcmds says {at}",
                    mach.commands_end
                )));
            }
            let room = segments
                .iter()
                .filter_map(|s| s.first_section_offset)
                .min()
                .unwrap_or(code_limit);
            let free = out
                .get(at..at + 16)
                .is_some_and(|b| b.iter().all(|&x| x == 0));
            if (at + 16) as u64 > room || !free {
                return Err(cannot(
                    "no room after the load commands for LC_CODE_SIGNATURE (link with -headerpad)"
                        .into(),
                ));
            }
            let mut lc = Vec::with_capacity(16);
            for v in [LC_CODE_SIGNATURE, 16, code_limit_32, to_u32(datasize)?] {
                lc.extend_from_slice(&v.to_le_bytes());
            }
            out[at..at + 16].copy_from_slice(&lc);
            out[16..20].copy_from_slice(&(mach.ncmds + 1).to_le_bytes());
            out[20..24].copy_from_slice(&to_u32(mach.sizeofcmds + 16)?.to_le_bytes());
        }
    }
    let new_filesize = code_limit + datasize as u64 - linkedit.fileoff;
    let new_vmsize = linkedit.vmsize.max(new_filesize.next_multiple_of(VM_PAGE));
    let seg = linkedit.cmd_offset;
    out[seg + 32..seg + 40].copy_from_slice(&new_vmsize.to_le_bytes());
    out[seg + 48..seg + 56].copy_from_slice(&new_filesize.to_le_bytes());

    let (exec_base, exec_limit) = text.map(|t| (t.fileoff, t.filesize)).unwrap_or((0, 0));
    let exec_flags = if mach.filetype == MH_EXECUTE {
        CS_EXECSEG_MAIN_BINARY
    } else {
        0
    };
    let mut cd = Vec::with_capacity(cd_len);
    for v in [
        CSMAGIC_CODEDIRECTORY,
        to_u32(cd_len)?,
        CD_VERSION_EXECSEG,
        CS_ADHOC | CS_LINKER_SIGNED,
        to_u32(hash_offset)?,
        to_u32(CD_HEADER_LEN)?,
        0, // nSpecialSlots: a linker signature binds no requirements or entitlements
        to_u32(n_code)?,
        code_limit_32,
    ] {
        cd.extend_from_slice(&v.to_be_bytes());
    }
    cd.extend_from_slice(&[32, HASH_SHA256, 0, page_shift]);
    cd.extend_from_slice(&0u32.to_be_bytes()); // spare2
    cd.extend_from_slice(&0u32.to_be_bytes()); // scatterOffset
    cd.extend_from_slice(&0u32.to_be_bytes()); // teamOffset
    cd.extend_from_slice(&0u32.to_be_bytes()); // spare3
    cd.extend_from_slice(&0u64.to_be_bytes()); // codeLimit64 (the 32-bit limit suffices)
    for v in [exec_base, exec_limit, exec_flags] {
        cd.extend_from_slice(&v.to_be_bytes());
    }
    cd.extend_from_slice(identifier.as_bytes());
    cd.push(0);
    for chunk in out.chunks(page as usize) {
        cd.extend_from_slice(&Sha256::digest(chunk));
    }
    debug_assert_eq!(cd.len(), cd_len);
    for v in [
        CSMAGIC_EMBEDDED_SIGNATURE,
        to_u32(superblob_len)?,
        1,
        CSSLOT_CODEDIRECTORY,
        20,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&cd);
    out.resize(code_limit as usize + datasize, 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_macho_and_fat() {
        assert_eq!(
            verify(b"\x7fELF\x02\x01"),
            Err(SignError::NotMachO(0x464c_457f))
        );
        assert_eq!(
            verify(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]),
            Err(SignError::Fat)
        );
        assert!(matches!(verify(b""), Err(SignError::Malformed(_))));
    }

    #[test]
    fn header_only_macho_is_unsigned_and_cannot_be_signed() {
        let mut m = Vec::new();
        for v in [MH_MAGIC_64, 0x0100_000c, 0, MH_EXECUTE, 0, 0, 0, 0] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(verify(&m), Err(SignError::NoCodeSignature));
        assert!(matches!(
            resign_adhoc(&m, "x"),
            Err(SignError::CannotSign(_))
        ));
    }
}
