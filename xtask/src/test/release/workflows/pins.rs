//! Action pins as written: every `uses:` is `owner/repo@<40-hex commit> # vX.Y.Z`, the commit is
//! the one the ledger records for that release, and `actions/*` stay on the design's major. Read
//! from the workflow text, because the YAML parser drops the comment that names the release.

/// One release of an action and the commit its tag pointed at (read from the action's own
/// repository, 2026-12-01; the design's pinning table). Updating an action means a new row here.
pub struct Pin {
    pub action: &'static str,
    pub release: &'static str,
    pub commit: &'static str,
}

pub const LEDGER: &[Pin] = &[
    Pin {
        action: "actions/checkout",
        release: "v6.1.0",
        commit: "d23441a48e516b6c34aea4fa41551a30e30af803",
    },
    Pin {
        action: "actions/setup-python",
        release: "v6.3.0",
        commit: "ece7cb06caefa5fff74198d8649806c4678c61a1",
    },
    Pin {
        action: "actions/upload-artifact",
        release: "v6.0.0",
        commit: "b7c566a772e6b6bfb58ed0dc250532a479d7789f",
    },
    // v6 declares node20 (v7 is the first node24 major); the runners run it on node24.
    Pin {
        action: "actions/download-artifact",
        release: "v6.0.0",
        commit: "018cc2cf5baa6db3ef3c5f8a56943fffe632ef53",
    },
    // Composite (no node runtime); its newest major is v4, so it is exempt from ACTIONS_MAJOR.
    Pin {
        action: "actions/attest-build-provenance",
        release: "v4.1.0",
        commit: "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
    },
    Pin {
        action: "Swatinem/rust-cache",
        release: "v2.9.2",
        commit: "6323deb102c322ba6fcbdcafc7e3dddab59af2b6",
    },
];

/// The major every `actions/*` step stays on (the design's contract), where that major exists.
pub const ACTIONS_MAJOR: &str = "v6";
const WITHOUT_ACTIONS_MAJOR: &[&str] = &["actions/attest-build-provenance"];

/// One `uses:` line of a workflow file.
#[derive(Debug, PartialEq, Eq)]
pub struct UsesLine {
    pub line: usize,
    pub uses: String,
    pub comment: Option<String>,
}

/// Every `uses:` key in the text (step or job level), with its trailing comment.
pub fn uses_lines(text: &str) -> Vec<UsesLine> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let key = line.trim_start();
            let key = key.strip_prefix("- ").map_or(key, str::trim_start);
            let rest = key.strip_prefix("uses:")?;
            // A YAML comment starts at a `#` preceded by whitespace.
            let (value, comment) = match rest.find(" #") {
                Some(at) => (&rest[..at], Some(rest[at + 2..].trim().to_string())),
                None => (rest, None),
            };
            let uses = value.trim().trim_matches(|c| c == '"' || c == '\'');
            Some(UsesLine {
                line: i + 1,
                uses: uses.to_string(),
                comment,
            })
        })
        .collect()
}

/// The pin problems of one workflow file. `parsed` are the `uses:` values the YAML parser found,
/// which must be exactly the lines read here (so no `uses:` escapes the line reader).
pub fn problems(file: &str, text: &str, parsed: &[&str], readme: &str) -> Vec<String> {
    problems_against(LEDGER, file, text, parsed, readme)
}

pub fn problems_against(
    ledger: &[Pin],
    file: &str,
    text: &str,
    parsed: &[&str],
    readme: &str,
) -> Vec<String> {
    let lines = uses_lines(text);
    let mut problems = Vec::new();
    let mut written: Vec<&str> = lines.iter().map(|l| l.uses.as_str()).collect();
    let mut parsed = parsed.to_vec();
    written.sort_unstable();
    parsed.sort_unstable();
    if written != parsed {
        problems.push(format!(
            "{file}: the `uses:` lines read as text {written:?} differ from the parsed ones {parsed:?}"
        ));
    }
    for line in &lines {
        if let Err(e) = check(ledger, line, readme) {
            problems.push(format!("{file}:{}: {e}", line.line));
        }
    }
    problems
}

fn check(ledger: &[Pin], line: &UsesLine, readme: &str) -> Result<(), String> {
    let uses = &line.uses;
    let (path, commit) = uses
        .split_once('@')
        .ok_or(format!("`{uses}` is not pinned to a commit"))?;
    let action = match path.split('/').collect::<Vec<_>>()[..] {
        [owner, repo, ..] if !owner.is_empty() && !repo.is_empty() => format!("{owner}/{repo}"),
        _ => return Err(format!("`{uses}` is not an `owner/repo@commit` action")),
    };
    if commit.len() != 40
        || !commit
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(format!(
            "`{uses}` is pinned to `{commit}`, not to a full 40-hex commit SHA"
        ));
    }
    let release = line
        .comment
        .as_deref()
        .filter(|c| is_release(c))
        .ok_or(format!(
            "`{uses}` needs its release as the line's comment (`# vX.Y.Z`), found {:?}",
            line.comment
        ))?;
    let pin = ledger
        .iter()
        .find(|p| p.action == action && p.release == release)
        .ok_or(format!(
            "{action} {release} is not in the pin ledger (xtask/src/test/release/workflows/pins.rs)"
        ))?;
    if pin.commit != commit {
        return Err(format!(
            "`{uses}` says {release}, whose commit is {} (the ledger)",
            pin.commit
        ));
    }
    let major = release.split('.').next().unwrap_or_default();
    if action.starts_with("actions/")
        && !WITHOUT_ACTIONS_MAJOR.contains(&action.as_str())
        && major != ACTIONS_MAJOR
    {
        return Err(format!(
            "{action} {release}: actions/* stay on {ACTIONS_MAJOR}"
        ));
    }
    if !action.starts_with("actions/") && !readme.contains(&format!("{action}@{release}")) {
        return Err(format!(
            "README.md does not state the pinned `{action}@{release}`"
        ));
    }
    Ok(())
}

/// `vMAJOR.MINOR.PATCH`, digits only.
fn is_release(text: &str) -> bool {
    text.strip_prefix('v').is_some_and(|v| {
        let parts: Vec<&str> = v.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}
