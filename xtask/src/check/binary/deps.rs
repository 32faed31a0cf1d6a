//! Where a loader finds a dependency inside the wheel: `$ORIGIN` RPATH/RUNPATH entries,
//! `@loader_path` / `@rpath` install names, a DLL beside the module or in a top-level
//! `<name>.libs/` directory (how auditwheel, delocate and delvewheel bundle libraries).

use super::Where;

/// The directory part of a member path (`a/b/c.so` → `a/b`, `c.so` → ``).
pub fn dir_of(member: &str) -> &str {
    member.rsplit_once('/').map_or("", |(d, _)| d)
}

/// `dir/rel` with `.` and `..` resolved; `None` when it climbs out of the wheel's root.
pub fn join(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl Where<'_> {
    /// An ELF DT_NEEDED found through a `$ORIGIN` search path.
    pub fn elf_bundled(&self, needed: &str, search: &[&str]) -> bool {
        let Some(member) = self.member else {
            return false;
        };
        search.iter().flat_map(|s| s.split(':')).any(|path| {
            let Some(rel) = path
                .strip_prefix("$ORIGIN")
                .or_else(|| path.strip_prefix("${ORIGIN}"))
            else {
                return false;
            };
            join(dir_of(member), &format!("{rel}/{needed}")).is_some_and(|p| (self.has)(&p))
        })
    }

    /// A Mach-O install name found through `@loader_path`, `@executable_path` or `@rpath`.
    pub fn macho_bundled(&self, lib: &str, rpaths: &[&str]) -> bool {
        let Some(member) = self.member else {
            return false;
        };
        let here = |path: &str| {
            let rel = path
                .strip_prefix("@loader_path")
                .or_else(|| path.strip_prefix("@executable_path"))?;
            join(dir_of(member), rel)
        };
        if let Some(rel) = lib.strip_prefix("@rpath") {
            return rpaths
                .iter()
                .any(|r| here(&format!("{r}{rel}")).is_some_and(|p| (self.has)(&p)));
        }
        here(lib).is_some_and(|p| (self.has)(&p))
    }

    /// A DLL beside the module, or in a top-level `<name>.libs/` directory (delvewheel's).
    pub fn dll_bundled(&self, dll: &str) -> bool {
        let Some(member) = self.member else {
            return false;
        };
        let dir = dir_of(member);
        (self.has_nocase)(dir, dll) || self.libs_dirs.iter().any(|d| (self.has_nocase)(d, dll))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_stay_inside_the_wheel() {
        assert_eq!(
            join("a/b", "../c.libs/x.so").as_deref(),
            Some("a/c.libs/x.so")
        );
        assert_eq!(join("", "./x.so").as_deref(), Some("x.so"));
        assert_eq!(join("a", "../../x.so"), None);
        assert_eq!(dir_of("pkg/_mod.so"), "pkg");
    }
}
