//! Test inputs built by the tests themselves: real binaries from `zig cc` (cached under
//! target/check-fixtures/), byte-level patches to them, wheels written with the zip crate and
//! then mutated at the byte level, and sdists written with the tar crate.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use goblin::mach::load_command::{
    LC_BUILD_VERSION, LC_CODE_SIGNATURE, LC_SEGMENT_64, LC_SOURCE_VERSION, LC_VERSION_MIN_MACOSX,
};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::macho_sign;
use crate::wheel::RecordHash;

// ---------------------------------------------------------------------------------------------
// Binaries from zig cc

const HELLO: &str = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n";
/// No libc calls: zig then emits no local stub symbols, so `-s -Wl,-x` leaves a stripped Mach-O.
const BARE: &str = "int main(void) { return 0; }\n";
/// getrandom (GLIBC_2.25) and reallocarray (GLIBC_2.26): only a newer glibc target links these.
const NEW_GLIBC: &str = "#define _GNU_SOURCE\n#include <stdlib.h>\n#include <sys/random.h>\n\
int main(void) { char b[4]; getrandom(b, 4, 0); return reallocarray(0, 2, 8) == 0; }\n";
const LIB: &str = "int foo(void) { return 42; }\n";
const WIN_LIB: &str = "__declspec(dllexport) int foo(void) { return 42; }\n";
/// Calls into the library through a data pointer, so no stub thunk (a local symbol) appears.
const USES_LIB: &str = "extern int foo(void);\nint (*volatile f)(void) = foo;\n\
int main(void) { return f(); }\n";
const WIN_USES_LIB: &str =
    "__declspec(dllimport) int foo(void);\nint main(void) { return foo(); }\n";

/// One zig build: a C source, a target and flags; `lib` builds a helper library first.
struct Recipe {
    target: &'static str,
    source: &'static str,
    flags: &'static [&'static str],
    /// (file name, source, flags) of a library to build and link against first.
    lib: Option<(&'static str, &'static str, &'static [&'static str])>,
    output: &'static str,
}

fn recipe(name: &str) -> Recipe {
    let r = |target, source, flags, output| Recipe {
        target,
        source,
        flags,
        lib: None,
        output,
    };
    match name {
        "linux-ok" => r("x86_64-linux-gnu.2.17", HELLO, &["-s"], "a.out"),
        "linux-glibc234" => r("x86_64-linux-gnu.2.34", NEW_GLIBC, &["-s"], "a.out"),
        "linux-unstripped" => r("x86_64-linux-gnu.2.17", HELLO, &["-g"], "a.out"),
        "linux-rpath" => r(
            "x86_64-linux-gnu.2.17",
            HELLO,
            &["-s", "-Wl,-rpath,/opt/vendor/lib"],
            "a.out",
        ),
        "linux-arm64" => r("aarch64-linux-gnu.2.17", HELLO, &["-s"], "a.out"),
        "linux-so" => r(
            "x86_64-linux-gnu.2.17",
            LIB,
            &["-s", "-shared"],
            "libfoo.so",
        ),
        "linux-needs-lib" => Recipe {
            lib: Some(("libfoo.so", LIB, &["-shared"])),
            ..r(
                "x86_64-linux-gnu.2.17",
                USES_LIB,
                &["-s", "-L.", "-lfoo"],
                "a.out",
            )
        },
        "mac-x64-ok" => r("x86_64-macos.10.12", BARE, &["-s", "-Wl,-x"], "a.out"),
        "mac-x64-15" => r("x86_64-macos.15.0", BARE, &["-s", "-Wl,-x"], "a.out"),
        "mac-x64-11" => r("x86_64-macos.11.0", BARE, &["-s", "-Wl,-x"], "a.out"),
        "mac-x64-unstripped" => r("x86_64-macos.10.12", HELLO, &[], "a.out"),
        "mac-arm64-ok" => r("aarch64-macos.11.0", BARE, &["-s", "-Wl,-x"], "a.out"),
        "mac-x64-dylib" => Recipe {
            lib: Some((
                "libfoo.dylib",
                LIB,
                &["-shared", "-Wl,-install_name,@rpath/libfoo.dylib"],
            )),
            ..r(
                "x86_64-macos.10.12",
                USES_LIB,
                &["-s", "-Wl,-x", "-L.", "-lfoo"],
                "a.out",
            )
        },
        "win-ok" => r("x86_64-windows-gnu", HELLO, &["-s"], "a.exe"),
        "win-arm64" => r("aarch64-windows-gnu", HELLO, &["-s"], "a.exe"),
        "win-dll" => r("x86_64-windows-gnu", WIN_LIB, &["-s", "-shared"], "foo.dll"),
        "win-needs-dll" => Recipe {
            lib: Some((
                "libwinpthread-1.dll",
                WIN_LIB,
                &["-shared", "-Wl,--out-implib,libfoo.a"],
            )),
            ..r(
                "x86_64-windows-gnu",
                WIN_USES_LIB,
                &["-s", "-L.", "-lfoo"],
                "a.exe",
            )
        },
        other => panic!("no fixture recipe `{other}`"),
    }
}

fn zig_argv() -> &'static Vec<OsString> {
    static ZIG: OnceLock<Vec<OsString>> = OnceLock::new();
    ZIG.get_or_init(|| {
        let sh = xshell::Shell::new().expect("shell");
        let tools = crate::toolchain::ensure_zig(&sh)
            .expect("zig is needed to build the check fixtures (crate::toolchain::ensure_zig)");
        match tools.ziglang_python {
            Some(python) => vec![python.into_os_string(), "-m".into(), "ziglang".into()],
            None => vec!["zig".into()],
        }
    })
}

fn fixture_dir() -> PathBuf {
    crate::project_root().join("target/check-fixtures")
}

/// The bytes of fixture `name`, built once with zig and cached by a hash of its recipe.
pub fn binary(name: &str) -> Vec<u8> {
    static MEMO: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    // One build at a time: the machine has two cores and zig parallelizes itself.
    let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(bytes) = memo.get(name) {
        return bytes.clone();
    }
    let r = recipe(name);
    // Every fixture executable carries the dependency list of the fixture SBOM's crates.
    let deps = super::dep_list::fixture::compress(&super::dep_list::fixture::json(VERSION));
    let source = super::dep_list::fixture::c_source(r.source, r.target, &deps);
    let mut h = Sha256::new();
    for part in [r.target, &source, r.output, &r.flags.join(" ")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    if let Some((file, source, flags)) = r.lib {
        h.update(format!("{file}\0{source}\0{}", flags.join(" ")));
    }
    let key = format!("{name}-{}", &format!("{:x}", h.finalize())[..16]);
    let cached = fixture_dir().join(&key);
    let bytes = match std::fs::read(&cached) {
        Ok(b) => b,
        Err(_) => {
            let b = build(&r, &source, &key);
            crate::atomic::write(&cached, &b).expect("caching fixture");
            b
        }
    };
    memo.insert(name.to_string(), bytes.clone());
    bytes
}

fn build(r: &Recipe, source: &str, key: &str) -> Vec<u8> {
    let dir = fixture_dir().join(format!("build-{key}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fixture build dir");
    let zig = zig_argv();
    let run = |source: &str, file: &str, flags: &[&str]| {
        let src = dir.join(format!("{file}.c"));
        std::fs::write(&src, source).expect("writing fixture source");
        let out = Command::new(&zig[0])
            .args(&zig[1..])
            .args(["cc", "-target", r.target, "-O1"])
            .args(flags)
            .arg(&src)
            .arg("-o")
            .arg(file)
            .current_dir(&dir)
            .output()
            .expect("running zig cc");
        assert!(
            out.status.success(),
            "zig cc -target {} {flags:?} failed:\n{}",
            r.target,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    if let Some((file, source, flags)) = r.lib {
        run(source, file, flags);
    }
    run(source, r.output, r.flags);
    let bytes = std::fs::read(dir.join(r.output)).expect("reading zig output");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

// ---------------------------------------------------------------------------------------------
// Byte-level patches to real binaries

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// (offset, cmd, size) of every Mach-O 64 load command.
pub fn macho_commands(b: &[u8]) -> Vec<(usize, u32, usize)> {
    let n = le32(b, 16) as usize;
    let mut at = 32;
    (0..n)
        .map(|_| {
            let c = (at, le32(b, at), le32(b, at + 4) as usize);
            at += c.2;
            c
        })
        .collect()
}

/// Sets LC_BUILD_VERSION's minos (the tag check reads it).
pub fn macho_set_minos(mut b: Vec<u8>, major: u32, minor: u32) -> Vec<u8> {
    let (at, _, _) = *macho_commands(&b)
        .iter()
        .find(|c| c.1 == LC_BUILD_VERSION)
        .expect("LC_BUILD_VERSION");
    put32(&mut b, at + 12, (major << 16) | (minor << 8));
    b
}

/// Rewrites LC_BUILD_VERSION as LC_VERSION_MIN_MACOSX (plus a filler command of the rest).
pub fn macho_to_version_min(mut b: Vec<u8>, major: u32, minor: u32) -> Vec<u8> {
    let (at, _, size) = *macho_commands(&b)
        .iter()
        .find(|c| c.1 == LC_BUILD_VERSION)
        .expect("LC_BUILD_VERSION");
    assert!(size >= 32, "LC_BUILD_VERSION too small to split");
    let v = (major << 16) | (minor << 8);
    for (i, word) in [LC_VERSION_MIN_MACOSX, 16, v, v].into_iter().enumerate() {
        put32(&mut b, at + 4 * i, word);
    }
    put32(&mut b, at + 16, LC_SOURCE_VERSION);
    put32(&mut b, at + 20, (size - 16) as u32);
    b[at + 24..at + size].fill(0);
    let ncmds = le32(&b, 16);
    put32(&mut b, 16, ncmds + 1);
    b
}

/// Turns the minimum-version command into a filler, so no minimum macOS is declared.
pub fn macho_drop_minos(mut b: Vec<u8>) -> Vec<u8> {
    let (at, _, _) = *macho_commands(&b)
        .iter()
        .find(|c| c.1 == LC_BUILD_VERSION || c.1 == LC_VERSION_MIN_MACOSX)
        .expect("a minimum-version command");
    put32(&mut b, at, LC_SOURCE_VERSION);
    b
}

/// Removes the code signature: the command becomes a filler, the file ends where it started.
pub fn macho_unsign(mut b: Vec<u8>) -> Vec<u8> {
    let (at, _, _) = *macho_commands(&b)
        .iter()
        .find(|c| c.1 == LC_CODE_SIGNATURE)
        .expect("LC_CODE_SIGNATURE");
    let dataoff = le32(&b, at + 8) as usize;
    put32(&mut b, at, LC_SOURCE_VERSION);
    put32(&mut b, at + 8, 0);
    put32(&mut b, at + 12, 0);
    for (seg_at, cmd, _) in macho_commands(&b) {
        if cmd == LC_SEGMENT_64 && &b[seg_at + 8..seg_at + 18] == b"__LINKEDIT" {
            let fileoff = u64::from_le_bytes(b[seg_at + 40..seg_at + 48].try_into().unwrap());
            let size = dataoff as u64 - fileoff;
            b[seg_at + 48..seg_at + 56].copy_from_slice(&size.to_le_bytes());
        }
    }
    b.truncate(dataoff);
    b
}

/// Flips one byte of code in the middle of __TEXT (after the load commands, before the signature).
pub fn macho_corrupt_code(mut b: Vec<u8>) -> Vec<u8> {
    let cmds_end = 32 + le32(&b, 20) as usize;
    let at = cmds_end + 0x200;
    b[at] ^= 0x5a;
    b
}

/// A universal (fat) file wrapping one thin Mach-O.
pub fn macho_fat(thin: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let offset = 0x4000u32;
    for v in [
        0xcafe_babe_u32,
        1,
        le32(thin, 4),
        le32(thin, 8),
        offset,
        thin.len() as u32,
        14,
    ] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.resize(offset as usize, 0);
    b.extend_from_slice(thin);
    b
}

/// Offset of the PE optional header.
fn pe_optional(b: &[u8]) -> usize {
    le32(b, 0x3c) as usize + 24
}

pub fn pe_set_subsystem(mut b: Vec<u8>, subsystem: u16) -> Vec<u8> {
    let at = pe_optional(&b) + 68;
    b[at..at + 2].copy_from_slice(&subsystem.to_le_bytes());
    b
}

/// Appends a COFF symbol table (one symbol + an empty string table) and points the header at it.
pub fn pe_add_symbols(mut b: Vec<u8>) -> Vec<u8> {
    let coff = le32(&b, 0x3c) as usize + 4;
    let at = b.len() as u32;
    let mut sym = [0u8; 18];
    sym[..5].copy_from_slice(b"main\0");
    sym[12] = 1; // section number
    sym[16] = 2; // IMAGE_SYM_CLASS_EXTERNAL
    b.extend_from_slice(&sym);
    b.extend_from_slice(&4u32.to_le_bytes());
    put32(&mut b, coff + 8, at);
    put32(&mut b, coff + 12, 1);
    b
}

/// Replaces `from` with `to` (same length) everywhere in the file.
pub fn replace_bytes(mut b: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    let mut hits = 0;
    while i + from.len() <= b.len() {
        if &b[i..i + from.len()] == from {
            b[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(
        hits > 0,
        "pattern {:?} not found",
        String::from_utf8_lossy(from)
    );
    b
}

pub fn resign(b: &[u8]) -> Vec<u8> {
    macho_sign::resign_adhoc(b, "mcp-sidecar").expect("resign")
}

// ---------------------------------------------------------------------------------------------
// Wheels: written with the zip crate, broken at the byte level afterwards

pub const NAME: &str = "mcp_sidecar";
pub const VERSION: &str = "0.1.0";

/// The payload layout the fixture wheels follow (this repository's `[workspace.metadata.dist]`).
pub fn payload() -> super::Payload {
    super::Payload {
        distribution: crate::wheel::DistName::parse(NAME).expect("the fixture name is valid"),
        python_package: NAME.into(),
        native_dir: "_native".into(),
        binary: "mcp-sidecar".into(),
    }
}

/// A wheel to write: members in order, plus overrides for the generated metadata.
#[derive(Clone)]
pub struct Spec {
    pub file_name: String,
    /// (path, content, unix mode).
    pub files: Vec<(String, Vec<u8>, u32)>,
    /// RECORD text; generated from `files` when `None`.
    pub record: Option<String>,
    pub method: CompressionMethod,
    /// Rows to append to the generated RECORD.
    pub record_extra: Vec<String>,
    pub comments: Vec<(String, String)>,
    /// The `.dist-info` directory RECORD is written into.
    pub dist_info: String,
}

/// `sha256=<urlsafe base64, no padding>` of `content`, as a RECORD row carries it.
pub fn record_hash(content: &[u8]) -> String {
    RecordHash::of(content).to_string()
}

pub fn dist_info() -> String {
    format!("{NAME}-{VERSION}.dist-info")
}

pub fn wheel_text(tags: &[String], purelib: bool) -> String {
    let mut s =
        format!("Wheel-Version: 1.0\nGenerator: check-fixtures\nRoot-Is-Purelib: {purelib}\n");
    for t in tags {
        s.push_str(&format!("Tag: {t}\n"));
    }
    s
}

pub fn metadata_text() -> String {
    format!(
        "Metadata-Version: 2.1\nName: mcp-sidecar\nVersion: {VERSION}\nSummary: test\n\
Requires-Python: >=3.7\nDescription-Content-Type: text/markdown\n\n# mcp-sidecar\n"
    )
}

/// A good SBOM: the Python package over the sidecar crate and one registry crate.
pub fn sbom() -> Vec<u8> {
    let subject = crate::sbom::Subject {
        name: "mcp-sidecar".into(),
        version: VERSION.into(),
        license: Some("MIT".into()),
        binary_purl: format!("pkg:cargo/mcp-sidecar@{VERSION}"),
    };
    let crates = [
        crate::sbom::Crate {
            name: "mcp-sidecar".into(),
            version: VERSION.into(),
            license: Some("MIT".into()),
            sha256: None,
            deps: vec!["pkg:cargo/itoa@1.0.15".into()],
            build_only: false,
        },
        crate::sbom::Crate {
            name: "itoa".into(),
            version: "1.0.15".into(),
            license: Some("MIT OR Apache-2.0".into()),
            sha256: Some("4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c".into()),
            deps: vec![],
            build_only: false,
        },
    ];
    crate::sbom::document(&subject, &crates).expect("the fixture SBOM serializes")
}

impl Spec {
    /// A good platform wheel for `platform` carrying `binary`.
    pub fn platform(platform: &str, binary: Vec<u8>) -> Spec {
        let exe = if platform.starts_with("win") {
            ".exe"
        } else {
            ""
        };
        let file_name = format!("{NAME}-{VERSION}-py3-none-{platform}.whl");
        let tags: Vec<String> = platform
            .split('.')
            .map(|p| format!("py3-none-{p}"))
            .collect();
        Spec::with(
            file_name,
            &tags,
            false,
            vec![(
                format!("{NAME}/_native/mcp-sidecar{exe}"),
                binary,
                0o100_755,
            )],
        )
    }

    pub fn pure() -> Spec {
        let file_name = format!("{NAME}-{VERSION}-py3-none-any.whl");
        Spec::with(file_name, &["py3-none-any".to_string()], true, Vec::new())
    }

    fn with(
        file_name: String,
        tags: &[String],
        purelib: bool,
        extra: Vec<(String, Vec<u8>, u32)>,
    ) -> Spec {
        let di = dist_info();
        let mut files = vec![
            (
                format!("{NAME}/__init__.py"),
                b"__version__ = \"0.1.0\"\n".to_vec(),
                0o100_644,
            ),
            (
                format!("{NAME}/_locate.py"),
                b"def find():\n    return None\n".to_vec(),
                0o100_644,
            ),
            // As in the real package: PyInstaller needs this non-importable hook name (W004).
            (
                format!("{NAME}/_pyinstaller/hook-{NAME}.py"),
                b"hiddenimports = []\n".to_vec(),
                0o100_644,
            ),
        ];
        files.extend(extra);
        files.push((
            format!("{di}/METADATA"),
            metadata_text().into_bytes(),
            0o100_644,
        ));
        files.push((
            format!("{di}/WHEEL"),
            wheel_text(tags, purelib).into_bytes(),
            0o100_644,
        ));
        if !purelib {
            files.push((
                format!("{di}/sboms/mcp-sidecar.cdx.json"),
                sbom(),
                0o100_644,
            ));
        }
        Spec {
            file_name,
            files,
            record: None,
            method: CompressionMethod::Deflated,
            record_extra: Vec::new(),
            comments: Vec::new(),
            dist_info: di,
        }
    }

    pub fn set(&mut self, path: &str, content: impl Into<Vec<u8>>) -> &mut Self {
        let content = content.into();
        match self.files.iter_mut().find(|f| f.0 == path) {
            Some(f) => f.1 = content,
            None => self.files.push((path.to_string(), content, 0o100_644)),
        }
        self
    }

    pub fn set_mode(&mut self, path: &str, mode: u32) -> &mut Self {
        self.files
            .iter_mut()
            .find(|f| f.0 == path)
            .expect("member to set the mode of")
            .2 = mode;
        self
    }

    pub fn remove(&mut self, path: &str) -> &mut Self {
        self.files.retain(|f| f.0 != path);
        self
    }

    pub fn rename(&mut self, from: &str, to: &str) -> &mut Self {
        self.files
            .iter_mut()
            .find(|f| f.0 == from)
            .expect("member to rename")
            .0 = to.to_string();
        self
    }

    /// Moves every metadata file (and RECORD) to another `.dist-info` directory.
    pub fn set_dist_info(&mut self, dir: &str) -> &mut Self {
        let old = format!("{}/", self.dist_info);
        for f in &mut self.files {
            if let Some(rest) = f.0.strip_prefix(&old) {
                f.0 = format!("{dir}/{rest}");
            }
        }
        self.dist_info = dir.to_string();
        self
    }

    pub fn binary_path(&self) -> String {
        self.files
            .iter()
            .find(|f| f.0.contains("/_native/"))
            .map(|f| f.0.clone())
            .expect("a binary member")
    }

    pub fn record_text(&self) -> String {
        if let Some(r) = &self.record {
            return r.clone();
        }
        let mut s = String::new();
        for (path, content, _) in &self.files {
            s.push_str(&format!(
                "{path},{},{}\n",
                record_hash(content),
                content.len()
            ));
        }
        for row in &self.record_extra {
            s.push_str(row);
            s.push('\n');
        }
        s.push_str(&format!("{}/RECORD,,\n", self.dist_info));
        s
    }

    pub fn build(&self) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let base = SimpleFileOptions::default()
            .compression_method(self.method)
            .last_modified_time(DateTime::default());
        let record = (
            format!("{}/RECORD", self.dist_info),
            self.record_text().into_bytes(),
            0o100_644,
        );
        for (path, content, mode) in self.files.iter().chain(std::iter::once(&record)) {
            let opts = base.external_attributes(mode << 16);
            match self.comments.iter().find(|(p, _)| p == path) {
                Some((_, c)) => {
                    w.start_file(path, opts.into_full_options().with_file_comment(c.as_str()))
                }
                None => w.start_file(path, opts),
            }
            .expect("zip start_file");
            w.write_all(content).expect("zip write");
        }
        w.finish().expect("zip finish").into_inner()
    }
}

/// Where each member's records sit in a well-formed archive (test-side, trusting the input).
pub struct Layout {
    pub eocd: usize,
    /// (central-directory record offset, local header offset, name)
    pub entries: Vec<(usize, usize, String)>,
}

fn le16(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

pub fn layout(b: &[u8]) -> Layout {
    let eocd = (0..=b.len() - 22)
        .rev()
        .find(|&i| b[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .expect("EOCD");
    let n = le16(b, eocd + 10);
    let mut at = le32(b, eocd + 16) as usize;
    let mut entries = Vec::new();
    for _ in 0..n {
        let name_len = le16(b, at + 28);
        let next = at + 46 + name_len + le16(b, at + 30) + le16(b, at + 32);
        let name = String::from_utf8_lossy(&b[at + 46..at + 46 + name_len]).into_owned();
        entries.push((at, le32(b, at + 42) as usize, name));
        at = next;
    }
    Layout { eocd, entries }
}

impl Layout {
    pub fn entry(&self, name: &str) -> (usize, usize) {
        self.entries
            .iter()
            .find(|e| e.2 == name)
            .map(|e| (e.0, e.1))
            .unwrap_or_else(|| panic!("no member {name}"))
    }
}

/// Sets flag bits on a member in both headers.
pub fn zip_set_flags(mut b: Vec<u8>, member: &str, bits: u16) -> Vec<u8> {
    let (cd, local) = layout(&b).entry(member);
    for at in [cd + 8, local + 6] {
        let v = le16(&b, at) as u16 | bits;
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    b
}

/// Sets the compression method of a member in both headers.
pub fn zip_set_method(mut b: Vec<u8>, member: &str, method: u16) -> Vec<u8> {
    let (cd, local) = layout(&b).entry(member);
    for at in [cd + 10, local + 8] {
        b[at..at + 2].copy_from_slice(&method.to_le_bytes());
    }
    b
}

/// Renames a member (same length) in both headers, e.g. to duplicate another member's name.
pub fn zip_rename(mut b: Vec<u8>, member: &str, to: &[u8]) -> Vec<u8> {
    assert_eq!(
        member.len(),
        to.len(),
        "same-length rename keeps offsets valid"
    );
    let (cd, local) = layout(&b).entry(member);
    b[cd + 46..cd + 46 + to.len()].copy_from_slice(to);
    b[local + 30..local + 30 + to.len()].copy_from_slice(to);
    b
}

/// Declares another uncompressed size for a member, in both headers (the data stays as it is).
pub fn zip_declare_size(mut b: Vec<u8>, member: &str, size: u32) -> Vec<u8> {
    let (cd, local) = layout(&b).entry(member);
    put32(&mut b, cd + 24, size);
    put32(&mut b, local + 22, size);
    b
}

/// Changes one field of a member's local header only (offset within the local header).
pub fn zip_poke_local(mut b: Vec<u8>, member: &str, field: usize, value: u32) -> Vec<u8> {
    let (_, local) = layout(&b).entry(member);
    put32(&mut b, local + field, value);
    b
}

/// Points a member's central-directory entry at another member's local header.
pub fn zip_point_at(mut b: Vec<u8>, member: &str, other: &str) -> Vec<u8> {
    let l = layout(&b);
    let (cd, _) = l.entry(member);
    let (_, target) = l.entry(other);
    put32(&mut b, cd + 42, target as u32);
    b
}

/// Flips a byte of a member's stored data (its CRC no longer matches).
pub fn zip_corrupt_data(mut b: Vec<u8>, member: &str) -> Vec<u8> {
    let (_, local) = layout(&b).entry(member);
    let data = local + 30 + le16(&b, local + 26) + le16(&b, local + 28);
    b[data] ^= 0xff;
    b
}

/// Sets the archive comment (EOCD comment length + bytes).
pub fn zip_archive_comment(mut b: Vec<u8>, comment: &[u8]) -> Vec<u8> {
    let eocd = layout(&b).eocd;
    b.truncate(eocd + 22);
    b[eocd + 20..eocd + 22].copy_from_slice(&(comment.len() as u16).to_le_bytes());
    b.extend_from_slice(comment);
    b
}

/// Inserts bytes just before the central directory and moves the EOCD's pointer along.
pub fn zip_insert_before_cd(mut b: Vec<u8>, junk: &[u8]) -> Vec<u8> {
    let l = layout(&b);
    let cd = le32(&b, l.eocd + 16) as usize;
    b.splice(cd..cd, junk.iter().copied());
    let eocd = l.eocd + junk.len();
    put32(&mut b, eocd + 16, (cd + junk.len()) as u32);
    b
}

/// A stored local header + data for `name` that no central-directory entry lists.
pub fn hidden_local_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut b = Vec::new();
    b.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    b.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    for v in [crc.sum(), data.len() as u32, data.len() as u32] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&(name.len() as u16).to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(data);
    b
}

/// Sets the EOCD's total entry count (not the on-disk one).
pub fn zip_set_total_entries(mut b: Vec<u8>, n: u16) -> Vec<u8> {
    let eocd = layout(&b).eocd;
    b[eocd + 10..eocd + 12].copy_from_slice(&n.to_le_bytes());
    b
}

// ---------------------------------------------------------------------------------------------
// sdists: tar + gzip

pub const SDIST: &str = "mcp_sidecar-0.1.0.tar.gz";

/// A tar member: path, content, type.
pub struct TarMember {
    pub path: Vec<u8>,
    pub content: Vec<u8>,
    pub kind: tar::EntryType,
    pub link: Option<&'static str>,
}

pub fn tar_file(path: &str, content: &str) -> TarMember {
    TarMember {
        path: path.as_bytes().to_vec(),
        content: content.as_bytes().to_vec(),
        kind: tar::EntryType::Regular,
        link: None,
    }
}

pub fn pkg_info() -> String {
    format!(
        "Metadata-Version: 2.1\nName: mcp-sidecar\nVersion: {VERSION}\nRequires-Python: >=3.7\n\
Description-Content-Type: text/markdown\n\n# mcp-sidecar\n"
    )
}

pub fn good_sdist_members() -> Vec<TarMember> {
    let root = "mcp_sidecar-0.1.0";
    vec![
        tar_file(&format!("{root}/PKG-INFO"), &pkg_info()),
        tar_file(
            &format!("{root}/pyproject.toml"),
            "[project]\nname = \"mcp-sidecar\"\n",
        ),
        tar_file(&format!("{root}/Cargo.toml"), "[workspace]\n"),
        tar_file(
            &format!("{root}/crates/mcp-sidecar/src/main.rs"),
            "fn main() {}\n",
        ),
        tar_file(&format!("{root}/python/mcp_sidecar/__init__.py"), ""),
    ]
}

/// Writes members with raw headers (the tar crate's path setters refuse `..`, which we need).
pub fn sdist(members: &[TarMember]) -> Vec<u8> {
    let mut tar_bytes = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut tar_bytes);
        for m in members {
            let mut header = tar::Header::new_gnu();
            let name = &mut header.as_old_mut().name;
            name[..m.path.len()].copy_from_slice(&m.path);
            header.set_entry_type(m.kind);
            header.set_mode(0o644);
            header.set_size(m.content.len() as u64);
            if let Some(link) = m.link {
                header.set_link_name_literal(link).expect("link name");
            }
            header.set_cksum();
            builder
                .append(&header, m.content.as_slice())
                .expect("tar append");
        }
        builder.finish().expect("tar finish");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar_bytes).expect("gzip");
    gz.finish().expect("gzip finish")
}
