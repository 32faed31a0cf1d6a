//! What each platform's loader provides: auditwheel's manylinux and musllinux policies (its
//! `policy/*.json` is the reference: the newest GLIBC_, GLIBCXX_, CXXABI_ and GCC_ symbol
//! versions and the system libraries per policy), the program interpreters, Android's system
//! libraries and the DLLs every Windows (10+) ships.

use crate::wheel::{Arch, BinaryExpectation, Version2};

/// A dotted version (`3.4.19`), compared numerically part by part.
pub fn version_key(s: &str) -> Option<Vec<u32>> {
    s.split('.').map(|p| p.parse().ok()).collect()
}

/// Newest symbol version per prefix, per auditwheel policy: (glibc minor, arches (empty: every
/// other), [GLIBC, GLIBCXX, CXXABI, GCC]). Rows of one policy list their arch-specific rows first.
const SYMBOL_POLICIES: &[(u32, &[Arch], [&str; 4])] = &[
    (5, &[], ["2.5", "3.4.8", "1.3.1", "4.2.0"]),
    (12, &[Arch::X86], ["2.12", "3.4.13", "1.3.3", "4.5.0"]),
    (12, &[], ["2.12", "3.4.13", "1.3.3", "4.3.0"]),
    (
        17,
        &[Arch::X86_64, Arch::X86, Arch::Ppc64],
        ["2.17", "3.4.19", "1.3.7", "4.8.0"],
    ),
    (17, &[Arch::Aarch64], ["2.18", "3.4.19", "1.3.7", "4.7.0"]),
    (17, &[], ["2.17", "3.4.19", "1.3.7", "4.7.0"]),
    (
        24,
        &[Arch::X86_64, Arch::X86],
        ["2.24", "3.4.22", "1.3.10", "4.8.0"],
    ),
    (24, &[], ["2.24", "3.4.22", "1.3.10", "4.7.0"]),
    (26, &[Arch::X86_64], ["2.26", "3.4.22", "1.3.10", "4.8.0"]),
    (26, &[], ["2.26", "3.4.24", "1.3.11", "7.0.0"]),
    (27, &[], ["2.27", "3.4.24", "1.3.11", "7.0.0"]),
    (28, &[], ["2.28", "3.4.24", "1.3.11", "7.0.0"]),
    (31, &[], ["2.31", "3.4.28", "1.3.12", "7.0.0"]),
    (34, &[Arch::Aarch64], ["2.34", "3.4.29", "1.3.13", "11.0"]),
    (34, &[], ["2.34", "3.4.29", "1.3.13", "7.0.0"]),
    (
        35,
        &[Arch::X86_64, Arch::X86],
        ["2.35", "3.4.30", "1.3.13", "12.0.0"],
    ),
    (35, &[Arch::Aarch64], ["2.35", "3.4.30", "1.3.13", "11.0"]),
    (35, &[], ["2.35", "3.4.30", "1.3.13", "7.0.0"]),
    (
        36,
        &[Arch::X86_64, Arch::X86],
        ["2.36", "3.4.30", "1.3.13", "12.0.0"],
    ),
    (36, &[Arch::Aarch64], ["2.36", "3.4.30", "1.3.13", "11.0"]),
    (36, &[], ["2.36", "3.4.30", "1.3.13", "7.0.0"]),
    (37, &[Arch::X86], ["2.37", "3.4.30", "1.3.13", "12.0.0"]),
    (37, &[Arch::X86_64], ["2.36", "3.4.30", "1.3.13", "12.0.0"]),
    (37, &[Arch::Aarch64], ["2.36", "3.4.30", "1.3.13", "11.0"]),
    (
        37,
        &[Arch::Ppc64le, Arch::S390x],
        ["2.36", "3.4.30", "1.3.13", "7.0.0"],
    ),
    (37, &[], ["2.37", "3.4.30", "1.3.13", "7.0.0"]),
    (
        38,
        &[Arch::X86_64, Arch::X86],
        ["2.38", "3.4.30", "1.3.13", "12.0.0"],
    ),
    (38, &[Arch::Aarch64], ["2.38", "3.4.30", "1.3.13", "11.0"]),
    (38, &[], ["2.38", "3.4.30", "1.3.13", "7.0.0"]),
    (39, &[], ["2.39", "3.4.33", "1.3.15", "14.0.0"]),
    (40, &[], ["2.40", "3.4.33", "1.3.15", "14.0.0"]),
    (41, &[], ["2.41", "3.4.33", "1.3.15", "14.0.0"]),
];

/// Symbol versions that are names, not numbers, and the first policy (glibc minor) allowing each.
const NAMED_VERSIONS: &[(&str, u32)] = &[
    ("CXXABI_TM_1", 17),
    ("CXXABI_FLOAT128", 24),
    ("GLIBC_ABI_DT_RELR", 36),
];

pub const VERSIONED_PREFIXES: [&str; 4] = ["GLIBC_", "GLIBCXX_", "CXXABI_", "GCC_"];

/// The newest version per prefix a manylinux floor allows (`None` for a prefix the floor has
/// no auditwheel policy for: a floor newer than every policy checks GLIBC only).
pub fn symbol_limits(floor: Version2, arch: Arch) -> [Option<String>; 4] {
    let row = SYMBOL_POLICIES
        .iter()
        .filter(|(minor, arches, _)| {
            floor.major == 2
                && *minor <= floor.minor
                && (arches.is_empty() || arches.contains(&arch))
        })
        .max_by_key(|(minor, arches, _)| (*minor, !arches.is_empty()));
    let newest = SYMBOL_POLICIES.last().map_or(0, |p| p.0);
    let glibc = match row {
        Some((minor, _, v)) if *minor == floor.minor => v[0].to_string(),
        _ => floor.to_string(),
    };
    let cxx = |i: usize| {
        row.filter(|_| floor.major == 2 && floor.minor <= newest)
            .map(|(_, _, v)| v[i].to_string())
    };
    [Some(glibc), cxx(1), cxx(2), cxx(3)]
}

/// Whether a symbol version that is a name (`CXXABI_TM_1`) is allowed at this floor.
pub fn named_version_allowed(name: &str, floor: Version2) -> bool {
    NAMED_VERSIONS
        .iter()
        .any(|(n, since)| *n == name && floor.major == 2 && floor.minor >= *since)
}

/// auditwheel's manylinux `lib_whitelist` (manylinux_2_5 and later add libexpat, then libmvec).
/// libcrypt.so.1 is deliberately absent: auditwheel leaves it out (libxcrypt changed its ABI).
pub const MANYLINUX_ALLOWED: &[&str] = &[
    "libatomic.so.1",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libm.so.6",
    "libanl.so.1",
    "libdl.so.2",
    "librt.so.1",
    "libc.so.6",
    "libnsl.so.1",
    "libutil.so.1",
    "libpthread.so.0",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
    "libresolv.so.2",
    "libz.so.1",
    "libexpat.so.1",
    "libmvec.so.1",
];

/// auditwheel's musllinux `lib_whitelist`: musl's libc and zlib, nothing else.
const MUSLLINUX_ALLOWED: &[&str] = &["libc.so", "libz.so.1"];

/// auditwheel's android_21 `lib_whitelist`.
const ANDROID_ALLOWED: &[&str] = &[
    "libandroid.so",
    "libc.so",
    "libcrypto_python.so",
    "libdl.so",
    "libEGL.so",
    "libGLESv1_CM.so",
    "libGLESv2.so",
    "libjnigraphics.so",
    "liblog.so",
    "libm.so",
    "libmediandk.so",
    "libOpenMAXAL.so",
    "libOpenSLES.so",
    "libsqlite3_python.so",
    "libssl_python.so",
    "libz.so",
];

/// Whether the tag's platform provides this DT_NEEDED library.
pub fn elf_system_lib(exp: &BinaryExpectation, lib: &str) -> bool {
    let arch = exp.arches[0];
    if exp.android {
        ANDROID_ALLOWED.contains(&lib)
    } else if exp.musl {
        // Alpine's soname for musl's libc is its loader's `libc.musl-ARCH.so.1` alias.
        let musl_arch = loader(arch, true).trim_start_matches("/lib/ld-musl-");
        MUSLLINUX_ALLOWED.contains(&lib)
            || Some(lib) == loader(arch, true).rsplit('/').next()
            || lib.strip_prefix("libc.musl-") == Some(musl_arch)
    } else {
        let floor = exp.max_glibc.unwrap_or(Version2::new(2, 17));
        let since = |l: &str| match l {
            "libexpat.so.1" => Version2::new(2, 12),
            "libmvec.so.1" => Version2::new(2, 24),
            _ => Version2::new(2, 5),
        };
        (MANYLINUX_ALLOWED.contains(&lib) && since(lib) <= floor)
            || Some(lib) == loader(arch, false).rsplit('/').next()
    }
}

/// The program interpreter a dynamic executable of this arch and libc must name.
pub fn loader(arch: Arch, musl: bool) -> &'static str {
    match (arch, musl) {
        (Arch::X86_64, false) => "/lib64/ld-linux-x86-64.so.2",
        (Arch::X86, false) => "/lib/ld-linux.so.2",
        (Arch::Aarch64, false) => "/lib/ld-linux-aarch64.so.1",
        (Arch::Armv6l | Arch::Armv7l, false) => "/lib/ld-linux-armhf.so.3",
        (Arch::Ppc64le, false) => "/lib64/ld64.so.2",
        (Arch::Ppc64, false) => "/lib64/ld64.so.1",
        (Arch::Ppc, false) => "/lib/ld.so.1",
        (Arch::S390x, false) => "/lib/ld64.so.1",
        (Arch::Riscv64, false) => "/lib/ld-linux-riscv64-lp64d.so.1",
        (Arch::X86_64, true) => "/lib/ld-musl-x86_64.so.1",
        (Arch::X86, true) => "/lib/ld-musl-i386.so.1",
        (Arch::Aarch64, true) => "/lib/ld-musl-aarch64.so.1",
        (Arch::Armv6l | Arch::Armv7l, true) => "/lib/ld-musl-armhf.so.1",
        (Arch::Ppc64le, true) => "/lib/ld-musl-powerpc64le.so.1",
        (Arch::Ppc64, true) => "/lib/ld-musl-powerpc64.so.1",
        (Arch::Ppc, true) => "/lib/ld-musl-powerpc.so.1",
        (Arch::S390x, true) => "/lib/ld-musl-s390x.so.1",
        (Arch::Riscv64, true) => "/lib/ld-musl-riscv64.so.1",
    }
}

/// DLLs every supported Windows (10+) ships, lower-case. msvcrt.dll is here on purpose: it is an
/// OS component on every Windows and Rust's windows-gnu std links it. Not here, on purpose:
/// vcruntime140*.dll / msvcp140.dll (the VC++ redistributable), libgcc_s_*.dll,
/// libwinpthread-1.dll and libstdc++-6.dll (MinGW runtimes): link them statically or bundle them.
pub const WINDOWS_SYSTEM_DLLS: &[&str] = &[
    "kernel32.dll",
    "kernelbase.dll",
    "ntdll.dll",
    "advapi32.dll",
    "user32.dll",
    "gdi32.dll",
    "shell32.dll",
    "shlwapi.dll",
    "ole32.dll",
    "oleaut32.dll",
    "ws2_32.dll",
    "mswsock.dll",
    "iphlpapi.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    "ncrypt.dll",
    "crypt32.dll",
    "secur32.dll",
    "userenv.dll",
    "dbghelp.dll",
    "psapi.dll",
    "version.dll",
    "winmm.dll",
    "rpcrt4.dll",
    "synchronization.dll",
    "ucrtbase.dll",
    "msvcrt.dll",
    "comctl32.dll",
    "comdlg32.dll",
    "dnsapi.dll",
    "dwmapi.dll",
    "imm32.dll",
    "netapi32.dll",
    "normaliz.dll",
    "opengl32.dll",
    "powrprof.dll",
    "propsys.dll",
    "setupapi.dll",
    "cfgmgr32.dll",
    "uxtheme.dll",
    "winhttp.dll",
    "wininet.dll",
    "winspool.drv",
    "wintrust.dll",
    "wldap32.dll",
    "wtsapi32.dll",
    "mpr.dll",
    "msimg32.dll",
    "usp10.dll",
    "d3d11.dll",
    "dxgi.dll",
    "imagehlp.dll",
    "sechost.dll",
    "combase.dll",
    "shcore.dll",
    "oleacc.dll",
    "hid.dll",
    "credui.dll",
    "pdh.dll",
    "wsock32.dll",
    "cryptbase.dll",
    "d2d1.dll",
    "dwrite.dll",
    "windowscodecs.dll",
    "msi.dll",
    "wevtapi.dll",
];

/// `api-ms-win-*` / `ext-ms-win-*` API sets (the UCRT's `api-ms-win-crt-*` among them) resolve
/// to system DLLs.
pub fn is_system_dll(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("api-ms-win-")
        || lower.starts_with("ext-ms-win-")
        || WINDOWS_SYSTEM_DLLS.contains(&lower.as_str())
}

/// What an extension module may import from the interpreter that loads it: libpython, and on
/// Windows the DLLs every python.org install has beside python.exe.
pub fn python_runtime(lib: &str) -> bool {
    let lower = lib.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    base.starts_with("libpython")
        || (base.starts_with("python3") && base.ends_with(".dll"))
        || matches!(base, "vcruntime140.dll" | "vcruntime140_1.dll" | "python")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wheel::PlatformTag;

    #[test]
    fn limits_follow_auditwheel() {
        let v = |s: &str| Some(s.to_string());
        assert_eq!(
            symbol_limits(Version2::new(2, 17), Arch::X86_64),
            [v("2.17"), v("3.4.19"), v("1.3.7"), v("4.8.0")]
        );
        assert_eq!(
            symbol_limits(Version2::new(2, 17), Arch::Aarch64)[0],
            v("2.18")
        );
        assert_eq!(symbol_limits(Version2::new(2, 5), Arch::X86)[1], v("3.4.8"));
        // Between policies: the floor for GLIBC, the older policy for C++.
        assert_eq!(
            symbol_limits(Version2::new(2, 30), Arch::X86_64),
            [v("2.30"), v("3.4.24"), v("1.3.11"), v("7.0.0")]
        );
        assert_eq!(symbol_limits(Version2::new(2, 50), Arch::X86_64)[1], None);
        assert!(named_version_allowed("CXXABI_TM_1", Version2::new(2, 17)));
        assert!(!named_version_allowed("CXXABI_TM_1", Version2::new(2, 12)));
        assert!(!named_version_allowed(
            "GLIBC_PRIVATE",
            Version2::new(2, 41)
        ));
    }

    #[test]
    fn system_libraries_per_policy() {
        let exp = |t: &str| PlatformTag::parse(t).unwrap().expectation();
        let many = exp("manylinux_2_17_x86_64");
        assert!(elf_system_lib(&many, "libc.so.6"));
        assert!(elf_system_lib(&many, "ld-linux-x86-64.so.2"));
        assert!(!elf_system_lib(&many, "libmvec.so.1"));
        assert!(!elf_system_lib(&many, "libcrypt.so.1"));
        let musl = exp("musllinux_1_2_x86_64");
        assert!(elf_system_lib(&musl, "libc.so"));
        assert!(elf_system_lib(&musl, "libc.musl-x86_64.so.1"));
        assert!(!elf_system_lib(&musl, "libc.musl-aarch64.so.1"));
        assert!(!elf_system_lib(&musl, "libc.so.6"));
        assert!(!elf_system_lib(&musl, "libgcc_s.so.1"));
    }

    #[test]
    fn runtimes_that_ship_beside_an_exe_are_not_system_dlls() {
        for dll in [
            "KERNEL32.dll",
            "api-ms-win-crt-runtime-l1-1-0.dll",
            "ucrtbase.dll",
            "msvcrt.dll",
        ] {
            assert!(is_system_dll(dll), "{dll}");
        }
        for dll in [
            "libgcc_s_seh-1.dll",
            "libwinpthread-1.dll",
            "libstdc++-6.dll",
            "vcruntime140.dll",
            "vcruntime140_1.dll",
            "msvcp140.dll",
        ] {
            assert!(!is_system_dll(dll), "{dll}");
        }
        assert!(python_runtime("python313.dll") && python_runtime("VCRUNTIME140.dll"));
        assert!(!python_runtime("msvcp140.dll"));
    }
}
