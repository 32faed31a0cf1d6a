//! The `.dist-info` text files: METADATA (core metadata 2.4 from pyproject), WHEEL and
//! entry_points.txt (RECORD is `record`'s).

use std::fmt::Write as _;

use anyhow::{bail, Result};

use super::{DistName, Version};
use crate::config::{License, Person, Project, ReadmeText};

/// Core metadata 2.4: License-File is a 2.4 field; pip and twine read it.
pub const METADATA_VERSION: &str = "2.4";

/// `METADATA`: headers from `[project]`, then the readme as the message body.
pub fn metadata(
    project: &Project,
    name: &DistName,
    version: &Version,
    readme: Option<&ReadmeText>,
    license_files: &[String],
) -> Result<String> {
    let mut out = String::new();
    let mut field = |name: &str, value: &str| -> Result<()> {
        if value.contains('\n') || value.contains('\r') {
            bail!("pyproject.toml: the {name} field must be a single line, got {value:?}");
        }
        writeln!(out, "{name}: {value}")?;
        Ok(())
    };
    field("Metadata-Version", METADATA_VERSION)?;
    field("Name", name.as_given())?;
    field("Version", &version.to_string())?;
    if let Some(summary) = &project.description {
        field("Summary", summary)?;
    }
    if !project.keywords.is_empty() {
        field("Keywords", &project.keywords.join(","))?;
    }
    for (header, email_header, people) in [
        ("Author", "Author-email", &project.authors),
        ("Maintainer", "Maintainer-email", &project.maintainers),
    ] {
        let (names, emails) = people_fields(people);
        if !names.is_empty() {
            field(header, &names)?;
        }
        if !emails.is_empty() {
            field(email_header, &emails)?;
        }
    }
    match &project.license {
        Some(License::Expression(expr)) => field("License-Expression", expr)?,
        Some(License::Table {
            text: Some(text), ..
        }) => field("License", text)?,
        _ => {}
    }
    for file in license_files {
        field("License-File", file)?;
    }
    for classifier in &project.classifiers {
        field("Classifier", classifier)?;
    }
    if let Some(requires) = &project.requires_python {
        field("Requires-Python", requires)?;
    }
    for dep in &project.dependencies {
        field("Requires-Dist", dep)?;
    }
    for (extra, deps) in &project.optional_dependencies {
        field("Provides-Extra", extra)?;
        for dep in deps {
            field("Requires-Dist", &with_extra_marker(dep, extra))?;
        }
    }
    for (label, url) in &project.urls {
        field("Project-URL", &format!("{label}, {url}"))?;
    }
    if let Some(readme) = readme {
        field("Description-Content-Type", &readme.content_type)?;
        out.push('\n');
        out.push_str(&readme.text);
        if !readme.text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// PEP 621: names go to Author, `name <email>` / bare emails go to Author-email.
fn people_fields(people: &[Person]) -> (String, String) {
    let mut names = Vec::new();
    let mut emails = Vec::new();
    for p in people {
        match (&p.name, &p.email) {
            (Some(name), Some(email)) => emails.push(format!("{name} <{email}>")),
            (None, Some(email)) => emails.push(email.clone()),
            (Some(name), None) => names.push(name.clone()),
            (None, None) => {}
        }
    }
    (names.join(", "), emails.join(", "))
}

fn with_extra_marker(dep: &str, extra: &str) -> String {
    match dep.split_once(';') {
        Some((req, marker)) => format!(
            "{}; ({}) and extra == \"{extra}\"",
            req.trim(),
            marker.trim()
        ),
        None => format!("{dep}; extra == \"{extra}\""),
    }
}

/// `WHEEL`: one `Tag:` line per expanded tag.
pub fn wheel_file(generator: &str, tags: &[String]) -> String {
    let mut out = format!("Wheel-Version: 1.0\nGenerator: {generator}\nRoot-Is-Purelib: false\n");
    for tag in tags {
        out.push_str(&format!("Tag: {tag}\n"));
    }
    out
}

/// `entry_points.txt` from `[project.scripts]`, `[project.gui-scripts]` and `[project.entry-points]`.
pub fn entry_points(project: &Project) -> Option<String> {
    let mut groups: Vec<(&str, &std::collections::BTreeMap<String, String>)> = Vec::new();
    if !project.scripts.is_empty() {
        groups.push(("console_scripts", &project.scripts));
    }
    if !project.gui_scripts.is_empty() {
        groups.push(("gui_scripts", &project.gui_scripts));
    }
    for (group, entries) in &project.entry_points {
        groups.push((group, entries));
    }
    if groups.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, (group, entries)) in groups.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("[{group}]\n"));
        for (name, value) in *entries {
            out.push_str(&format!("{name} = {value}\n"));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Project;

    fn project() -> Project {
        toml::from_str::<toml::Table>(
            r#"
            name = "mcp-sidecar"
            dynamic = ["version"]
            description = "A sidecar"
            requires-python = ">=3.7"
            license = { text = "MIT" }
            authors = [{ name = "Devs" }, { name = "Ann", email = "ann@example.org" }]
            keywords = ["mcp", "ai"]
            classifiers = ["Programming Language :: Python :: 3"]
            dependencies = ["attrs>=20"]
            [urls]
            Repository = "https://example.org/r"
            [optional-dependencies]
            test = ["pytest; python_version >= '3.8'"]
            [scripts]
            tool = "pkg.cli:main"
            [entry-points.pyinstaller40]
            hook-dirs = "pkg._pyinstaller:get_hook_dirs"
            "#,
        )
        .unwrap()
        .try_into()
        .unwrap()
    }

    #[test]
    fn metadata_carries_the_project() {
        let readme = ReadmeText {
            text: "# Title\n\nBody".into(),
            content_type: "text/markdown; charset=UTF-8".into(),
        };
        let name = DistName::parse("mcp-sidecar").unwrap();
        let version = Version::parse("1.2.3").unwrap();
        let text = metadata(
            &project(),
            &name,
            &version,
            Some(&readme),
            &["LICENSE".into()],
        )
        .unwrap();
        for line in [
            "Metadata-Version: 2.4\n",
            "Name: mcp-sidecar\n",
            "Version: 1.2.3\n",
            "Summary: A sidecar\n",
            "Keywords: mcp,ai\n",
            "Author: Devs\n",
            "Author-email: Ann <ann@example.org>\n",
            "License: MIT\n",
            "License-File: LICENSE\n",
            "Requires-Python: >=3.7\n",
            "Requires-Dist: attrs>=20\n",
            "Provides-Extra: test\n",
            "Requires-Dist: pytest; (python_version >= '3.8') and extra == \"test\"\n",
            "Project-URL: Repository, https://example.org/r\n",
            "Description-Content-Type: text/markdown; charset=UTF-8\n\n# Title\n\nBody\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn multi_line_summary_is_refused() {
        let mut p = project();
        p.description = Some("two\nlines".into());
        let (name, version) = (DistName::parse("p").unwrap(), Version::parse("1").unwrap());
        assert!(metadata(&p, &name, &version, None, &[])
            .unwrap_err()
            .to_string()
            .contains("Summary"));
    }

    #[test]
    fn entry_points_group_scripts_first() {
        let text = entry_points(&project()).unwrap();
        assert_eq!(
            text,
            "[console_scripts]\ntool = pkg.cli:main\n\n[pyinstaller40]\nhook-dirs = pkg._pyinstaller:get_hook_dirs\n"
        );
        assert!(entry_points(&Project::default()).is_none());
    }

    #[test]
    fn wheel_file_lists_each_tag() {
        let text = wheel_file("gen 1", &["py3-none-a".into(), "py3-none-b".into()]);
        assert_eq!(
            text,
            "Wheel-Version: 1.0\nGenerator: gen 1\nRoot-Is-Purelib: false\nTag: py3-none-a\nTag: py3-none-b\n"
        );
    }
}
