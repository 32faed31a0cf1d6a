//! Rule 4 on every native file of a platform wheel, wherever it is: each is checked against
//! every distinct expectation of the wheel's platform tags, its dependencies resolved inside the
//! wheel the way the loader would. Only the sidecar (this project's own binary) gets its rules.

use std::collections::{BTreeSet, HashSet};

use super::super::binary::{self, Where};
use super::super::finding::Finding;
use super::{Wheel, WheelSummary};
use crate::wheel::BinaryExpectation;

pub(super) struct Natives {
    expectations: Vec<BinaryExpectation>,
    /// The first file under `<package>/<native-dir>/` in a wheel of the configured distribution
    /// (`payload` reports a misplaced or second one).
    sidecar: Option<String>,
    names: HashSet<String>,
    lower: HashSet<String>,
    libs_dirs: Vec<String>,
}

impl Natives {
    pub(super) fn new(wheel: &Wheel<'_, '_>) -> Natives {
        let mut expectations: Vec<BinaryExpectation> = Vec::new();
        for tag in wheel.filename.map(|f| f.platforms()).unwrap_or_default() {
            let e = tag.expectation();
            if !expectations.contains(&e) {
                expectations.push(e);
            }
        }
        let p = wheel.payload;
        let names: HashSet<String> = wheel.index.keys().map(|n| n.to_string()).collect();
        let libs_dirs: BTreeSet<String> = names
            .iter()
            .filter_map(|n| n.split_once('/'))
            .map(|(top, _)| top)
            .filter(|top| top.ends_with(".libs"))
            .map(str::to_string)
            .collect();
        Natives {
            expectations,
            sidecar: wheel
                .archive
                .entries
                .iter()
                .find(|e| !e.is_dir() && e.name.split('/').nth(1) == Some(p.native_dir.as_str()))
                .filter(|_| wheel.is_ours())
                .map(|e| e.name.clone()),
            lower: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            names,
            libs_dirs: libs_dirs.into_iter().collect(),
        }
    }

    /// The sidecar is checked whatever its first bytes are: it must be native code.
    pub(super) fn is_sidecar(&self, member: &str) -> bool {
        self.sidecar.as_deref() == Some(member)
    }

    pub(super) fn check(
        &self,
        member: &str,
        bytes: &[u8],
        out: &mut Vec<Finding>,
        summary: &mut WheelSummary,
    ) {
        let has = |p: &str| self.names.contains(p);
        let has_nocase = |dir: &str, file: &str| {
            let path = if dir.is_empty() {
                file.to_string()
            } else {
                format!("{dir}/{file}")
            };
            self.lower.contains(&path.to_ascii_lowercase())
        };
        let at = Where {
            member: Some(member),
            has: &has,
            has_nocase: &has_nocase,
            libs_dirs: &self.libs_dirs,
            sidecar: self.is_sidecar(member),
        };
        let mut seen = BTreeSet::new();
        for exp in &self.expectations {
            let (findings, facts) = binary::check(bytes, exp, &at);
            for f in findings {
                // Alias tags (manylinux_2_17 + manylinux2014) expect the same facts: report once.
                if seen.insert((f.kind, f.message.clone())) {
                    out.push(f.member(member));
                }
            }
            if let Some(mut facts) = facts {
                facts.member = Some(member.to_string());
                if !summary.binaries.iter().any(|b| b.member == facts.member) {
                    summary.binaries.push(facts);
                }
            }
        }
    }
}
