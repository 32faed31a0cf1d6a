//! The sdist: a .tar.gz whose members all sit under one `name-version/` root holding PKG-INFO,
//! pyproject.toml and Cargo.toml, with no absolute, `..` or link members.

use std::collections::BTreeSet;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tar::EntryType;

use super::finding::{finding, Finding, Kind};
use super::wheel_rules::{description_finding, header, parse_headers};
use super::zip_rules::unsafe_path;
use crate::wheel::DistName;

/// Decompressed bytes we are willing to walk (a source tree is a few MB).
const MAX_UNPACKED: u64 = 1 << 30;
/// PKG-INFO is a few KB; more is not metadata.
const MAX_PKG_INFO: u64 = 1 << 20;
const REQUIRED: [&str; 3] = ["PKG-INFO", "pyproject.toml", "Cargo.toml"];

struct Member {
    path: Vec<u8>,
    kind: EntryType,
    link: Option<Vec<u8>>,
}

pub fn check(file_name: &str, bytes: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    let stem = file_name.strip_suffix(".tar.gz").unwrap_or(file_name);
    let name_version = stem
        .split_once('-')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty() && !v.contains('-'));
    match name_version {
        Some((name, _)) if DistName::parse(name).is_ok_and(|n| n.file_form() == name) => {}
        _ => out.push(finding(
            Kind::SdistFilename,
            format!("`{file_name}` is not NAME-VERSION.tar.gz with a normalized name"),
            "NAME-VERSION.tar.gz, NAME lower-case with `_` (e.g. mcp_sidecar-0.1.0.tar.gz)",
        )),
    }
    let walked = catch_unwind(AssertUnwindSafe(|| walk(bytes)));
    let (members, pkg_info) = match walked {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            out.push(finding(
                Kind::SdistUnreadable,
                format!("not a readable .tar.gz: {e}"),
                "a gzip-compressed tar archive",
            ));
            return out;
        }
        Err(_) => {
            out.push(finding(
                Kind::SdistUnreadable,
                "the tar reader panicked on this archive",
                "a gzip-compressed tar archive",
            ));
            return out;
        }
    };
    let root = stem.to_string();
    let mut present = BTreeSet::new();
    for m in &members {
        let shown = String::from_utf8_lossy(&m.path).into_owned();
        let trimmed = shown.trim_end_matches('/');
        let control = m.path.iter().any(|&b| b < 0x20 || b == 0x7f);
        if let Some(why) =
            unsafe_path(trimmed).or(control.then_some("contains a control character"))
        {
            out.push(
                finding(
                    Kind::SdistUnsafePath,
                    format!("member path {:?} {why}", shown),
                    "relative paths under NAME-VERSION/",
                )
                .member(&shown),
            );
        }
        let link_kind = match m.kind {
            EntryType::Symlink => Some("a symbolic link"),
            EntryType::Link => Some("a hard link"),
            EntryType::Char | EntryType::Block | EntryType::Fifo => Some("a special file"),
            _ => None,
        };
        if let Some(what) = link_kind {
            let target = m
                .link
                .as_deref()
                .map(|l| format!(" to {:?}", String::from_utf8_lossy(l)))
                .unwrap_or_default();
            out.push(
                finding(
                    Kind::SdistLink,
                    format!("member is {what}{target}"),
                    "regular files and directories only",
                )
                .member(&shown),
            );
        }
        match trimmed.split_once('/') {
            Some((top, rest)) if top == root => {
                present.insert(rest.to_string());
            }
            None if trimmed == root => {}
            _ => out.push(
                finding(
                    Kind::SdistRoot,
                    format!("member {shown:?} is outside {root}/"),
                    format!("every member under {root}/"),
                )
                .member(&shown),
            ),
        }
    }
    for required in REQUIRED {
        if !present.contains(required) {
            let path = format!("{root}/{required}");
            out.push(
                finding(
                    Kind::SdistMissingFile,
                    format!("{path} is missing"),
                    format!("{path} (pip and maturin build from it)"),
                )
                .member(&path),
            );
        }
    }
    if let (Some(text), Some((name, version))) = (pkg_info, name_version) {
        pkg_info_matches(&text, name, version, &format!("{root}/PKG-INFO"), &mut out);
    }
    out
}

fn pkg_info_matches(text: &str, name: &str, version: &str, path: &str, out: &mut Vec<Finding>) {
    let (headers, body) = parse_headers(text);
    if let Some(f) = description_finding(&headers, &body) {
        out.push(f.member(path));
    }
    let pkg_name = header(&headers, "Name");
    let pkg_version = header(&headers, "Version");
    let parsed = |n: &str| DistName::parse(n).ok();
    if pkg_name.and_then(parsed) != parsed(name)
        || pkg_version.map(|v| v.replace('-', "_")).as_deref() != Some(version)
    {
        out.push(
            finding(
                Kind::SdistMetadata,
                format!(
                    "PKG-INFO says Name {} Version {}",
                    pkg_name.unwrap_or("(missing)"),
                    pkg_version.unwrap_or("(missing)")
                ),
                format!("Name normalizing to {name} and Version {version}, as the file name says"),
            )
            .member(path),
        );
    }
}

type Walked = (Vec<Member>, Option<String>);

/// Lists the members (and reads `<root>/PKG-INFO`) without unpacking anything to disk.
fn walk(bytes: &[u8]) -> Result<Walked, std::io::Error> {
    let gz = flate2::read::GzDecoder::new(bytes).take(MAX_UNPACKED);
    let mut archive = tar::Archive::new(gz);
    let mut members = Vec::new();
    let mut pkg_info = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            continue;
        }
        let path = entry.path_bytes().into_owned();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let is_pkg_info = kind.is_file()
            && path.split(|&b| b == b'/').count() == 2
            && path.ends_with(b"/PKG-INFO");
        if is_pkg_info && pkg_info.is_none() {
            let mut text = String::new();
            (&mut entry).take(MAX_PKG_INFO).read_to_string(&mut text)?;
            pkg_info = Some(text);
        }
        members.push(Member { path, kind, link });
    }
    Ok((members, pkg_info))
}
