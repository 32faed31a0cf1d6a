//! Member names: printable, UTF-8, and paths that stay inside the install directory.

use super::super::finding::{finding_at, Finding, Kind};

/// `name` as it should appear in a message: escaped, so control characters are visible.
pub(super) fn show(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    let escaped = format!("{s:?}");
    escaped
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(str::to_string)
        .unwrap_or(escaped)
}

pub(super) fn check_name(raw: &[u8], name: &str, out: &mut Vec<Finding>) {
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        out.push(finding_at(
            name,
            Kind::ZipControlChar,
            format!("member name \"{}\" contains a control character", show(raw)),
            "printable member names (no bytes 0x00-0x1f or 0x7f)",
        ));
    }
    if std::str::from_utf8(raw).is_err() {
        out.push(finding_at(
            name,
            Kind::ZipNameEncoding,
            format!("member name \"{}\" is not valid UTF-8", show(raw)),
            "UTF-8 member names",
        ));
    }
    if let Some(why) = unsafe_path(name) {
        out.push(finding_at(
            name,
            Kind::ZipUnsafePath,
            format!("member path \"{}\" {why}", show(raw)),
            "a relative path with `/` separators and no `..`",
        ));
    }
}

/// Why a member path could escape the install directory, if it could.
pub fn unsafe_path(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if name.is_empty() {
        Some("is empty")
    } else if name.starts_with('/') {
        Some("is absolute")
    } else if name.contains('\\') {
        Some("contains a backslash")
    } else if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        Some("starts with a drive letter")
    } else if name.split('/').any(|c| c == "..") {
        Some("has a `..` component")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths() {
        for (p, bad) in [
            ("a/b.py", false),
            ("a/..b/c", false),
            ("/etc/passwd", true),
            ("a/../../b", true),
            ("..", true),
            ("C:/x", true),
            ("a\\b", true),
            ("", true),
        ] {
            assert_eq!(unsafe_path(p).is_some(), bad, "{p}");
        }
    }
}
