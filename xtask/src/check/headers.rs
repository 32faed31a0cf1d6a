//! RFC 822-style headers of WHEEL, METADATA and PKG-INFO, and the long-description rule both
//! the wheel and the sdist follow.

use super::finding::{finding, Finding, Kind};

/// What `twine check --strict` refuses in METADATA / PKG-INFO: no long description, or one
/// without a content type (twine then guesses reStructuredText and warns).
pub fn description_finding(headers: &[(String, String)], body: &str) -> Option<Finding> {
    let has_body = !body.trim().is_empty()
        || header(headers, "Description").is_some_and(|d| !d.trim().is_empty());
    let has_type = header(headers, "Description-Content-Type").is_some();
    let what = match (has_body, has_type) {
        (true, true) => return None,
        (false, false) => "no long description and no Description-Content-Type",
        (false, true) => "no long description (the body after the headers is empty)",
        (true, false) => "a long description but no Description-Content-Type",
    };
    Some(finding(
        Kind::MetadataDescription,
        what,
        "the README as the body with Description-Content-Type: text/markdown (twine check --strict)",
    ))
}

pub fn shown(v: Option<&str>) -> String {
    v.map(|v| format!("`{v}`"))
        .unwrap_or_else(|| "missing".into())
}

pub fn header<'h>(headers: &'h [(String, String)], key: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// RFC 822-style headers (WHEEL, METADATA, PKG-INFO) and the body after the first blank line.
pub fn parse_headers(text: &str) -> (Vec<(String, String)>, String) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut lines = text.split_inclusive('\n');
    for line in lines.by_ref() {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, lines.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_body() {
        let (h, body) = parse_headers("Name: x\nSummary: a\n  b\n\nbody\ntext\n");
        assert_eq!(h[0], ("Name".into(), "x".into()));
        assert_eq!(h[1].1, "a\nb");
        assert_eq!(body, "body\ntext\n");
    }
}
