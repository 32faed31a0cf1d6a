//! The SBOM rule: a platform wheel carries `<dist-info>/sboms/<binary>.cdx.json` (PEP 770), and it
//! is CycloneDX 1.5 JSON that the `cyclonedx-bom` model reads and validates, naming the Python
//! package as its subject and every crate by version and package URL; and it names exactly the
//! runtime crates of the binary's own dependency list (`dep_list`).

use cyclonedx_bom::prelude::{Bom, SpecVersion, Validate};

use super::finding::{finding, finding_at, Finding, Kind};
use super::Payload;

/// Checks the SBOM at its place under `dist_info` (`NAME-VERSION.dist-info/`); `content` reads a
/// member (None when absent or unreadable, the latter reported already).
pub fn check<'c>(
    dist_info: &str,
    payload: &Payload,
    present: impl Fn(&str) -> bool,
    content: impl Fn(&str) -> Option<&'c [u8]>,
    out: &mut Vec<Finding>,
) {
    let path = format!(
        "{dist_info}{}",
        crate::sbom::path_in_dist_info(&payload.binary)
    );
    let bom = if !present(&path) {
        out.push(finding(
            Kind::SbomMissing,
            format!("{path} is missing"),
            "a CycloneDX SBOM of the binary's crates (PEP 770)",
        ));
        None
    } else {
        // An unreadable member was reported already.
        content(&path).and_then(|bytes| match parse(bytes) {
            Ok(bom) => Some(bom),
            Err(why) => {
                out.push(finding_at(
                    &path,
                    Kind::SbomInvalid,
                    why,
                    "CycloneDX 1.5 JSON with the Python package as metadata.component and each crate's version and purl",
                ));
                None
            }
        })
    };
    // The binary at the configured place (the payload rule reports a missing one).
    let stem = format!(
        "{}/{}/{}",
        payload.python_package, payload.native_dir, payload.binary
    );
    for member in [stem.clone(), format!("{stem}.exe")] {
        if let Some(binary) = content(&member) {
            let sbom = bom.as_ref().map(|b| (path.as_str(), b));
            super::dep_list::check(&member, binary, sbom, out);
        }
    }
}

fn parse(bytes: &[u8]) -> Result<Bom, String> {
    let bom =
        Bom::parse_from_json_v1_5(bytes).map_err(|e| format!("not CycloneDX 1.5 JSON: {e}"))?;
    let validation = bom.validate_version(SpecVersion::V1_5);
    if validation.has_errors() {
        return Err(format!("fails CycloneDX validation: {validation:?}"));
    }
    let subject = bom.metadata.as_ref().and_then(|m| m.component.as_ref());
    if subject.is_none_or(|c| c.purl.is_none()) {
        return Err("no metadata.component with a purl (the Python package)".into());
    }
    let components = bom
        .components
        .as_ref()
        .map(|c| c.0.as_slice())
        .unwrap_or_default();
    if components.is_empty() {
        return Err("lists no components".into());
    }
    if let Some(c) = components
        .iter()
        .find(|c| c.version.is_none() || c.purl.is_none())
    {
        return Err(format!("component {} has no version or purl", c.name));
    }
    Ok(bom)
}

#[cfg(test)]
mod tests {
    use crate::check::check_wheel_bytes;
    use crate::check::finding::Kind;
    use crate::check::fixtures::{self, Spec};

    fn kinds(spec: &Spec) -> Vec<Kind> {
        check_wheel_bytes(&spec.file_name, &spec.build())
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    fn sbom_path() -> String {
        format!("{}/sboms/mcp-sidecar.cdx.json", fixtures::dist_info())
    }

    #[test]
    fn a_wheel_with_its_sbom_is_clean_and_one_without_is_a_finding() {
        let good = Spec::platform("win_amd64", fixtures::binary("win-ok"));
        assert_eq!(kinds(&good), []);
        let mut missing = good.clone();
        missing.remove(&sbom_path());
        assert_eq!(kinds(&missing), [Kind::SbomMissing]);
        let mut pure = Spec::pure();
        pure.remove(&sbom_path());
        assert_eq!(kinds(&pure), [], "a pure wheel has no binary to describe");
    }

    #[test]
    fn an_sbom_that_is_not_cyclonedx_or_lacks_fields_is_a_finding() {
        let good = Spec::platform("win_amd64", fixtures::binary("win-ok"));
        let text = String::from_utf8(
            good.files
                .iter()
                .find(|f| f.0 == sbom_path())
                .unwrap()
                .1
                .clone(),
        )
        .unwrap();
        for bad in [
            "{}".to_string(),
            "not json".to_string(),
            text.replace("\"specVersion\": \"1.5\"", "\"specVersion\": \"9.9\""),
            text.replace("\"purl\": \"pkg:pypi/", "\"nopurl\": \"pkg:pypi/"),
            text.replace("\"SHA-256\"", "\"SHA-257\""),
        ] {
            let mut spec = good.clone();
            spec.set(&sbom_path(), bad.clone());
            assert_eq!(kinds(&spec), [Kind::SbomInvalid], "{bad}");
        }
    }
}
