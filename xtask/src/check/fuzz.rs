//! Property tests: byte-mutated wheels, sdists and binaries never make the check panic or hang.
//!
//! The normal run does `DEFAULT_CASES` per property; a long run is
//! `PROPTEST_CASES=200000 cargo test -p xtask check::fuzz -- --nocapture`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;

use super::finding::Kind;
use super::fixtures::*;
use super::{check_binary_bytes, check_sdist_bytes, check_wheel_bytes};
use crate::macho_sign;

const DEFAULT_CASES: u32 = 1000;
/// A single input must never take longer than this (debug build, loaded machine).
const MAX_PER_CASE: Duration = Duration::from_secs(5);

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

/// goblin panics are caught and reported as findings; count them and keep stderr readable.
static GOBLIN_PANICS: AtomicUsize = AtomicUsize::new(0);

fn quiet_goblin_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parser = info
                .location()
                .is_some_and(|l| l.file().contains("goblin") || l.file().contains("/tar-"));
            if in_parser {
                GOBLIN_PANICS.fetch_add(1, Ordering::Relaxed);
            } else {
                default(info);
            }
        }));
    });
}

/// Field values that break parsers: zero, one, all-ones, sign bit, just past a boundary.
const INTERESTING: &[u32] = &[
    0,
    1,
    2,
    4,
    7,
    8,
    16,
    20,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x1000,
    0x4000,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    /// A little-endian u32 anywhere.
    Poke(Index, u32),
    /// A u32 at a small offset from a record signature (zip `PK`, Mach-O/CS magic): header fields.
    PokeNearMagic(Index, u8, u32, bool),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, u8),
    Append(Vec<u8>),
    /// Copies a span over another place (duplicates records).
    Splice(Index, Index, u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let value = prop_oneof![
        3 => proptest::sample::select(INTERESTING),
        1 => any::<u32>(),
    ];
    prop_oneof![
        3 => (any::<Index>(), 1u8..).prop_map(|(i, x)| Mutation::Flip(i, x)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, x)| Mutation::Set(i, x)),
        2 => (any::<Index>(), value.clone()).prop_map(|(i, v)| Mutation::Poke(i, v)),
        6 => (any::<Index>(), 0u8..64, value, any::<bool>()).prop_map(|(i, o, v, be)| Mutation::PokeNearMagic(i, o, v, be)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..64)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1u8..).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => proptest::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Append),
        1 => (any::<Index>(), any::<Index>(), 1u16..512).prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
    ]
}

/// Offsets of the record magics the parsers key on.
fn magic_offsets(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(3) {
        let w = &b[i..i + 4];
        let zip = w[0] == b'P' && w[1] == b'K' && w[2] < 9 && w[3] < 9;
        let cs = w[0] == 0xfa && w[1] == 0xde;
        let mach = w == [0xcf, 0xfa, 0xed, 0xfe] || w == [0xca, 0xfe, 0xba, 0xbe];
        let elf_pe = w == *b"\x7fELF" || w == *b"PE\0\0";
        if zip || cs || mach || elf_pe {
            out.push(i);
        }
    }
    out
}

fn apply(b: &mut Vec<u8>, m: &Mutation, magics: &[usize]) {
    if b.is_empty() {
        b.push(0);
    }
    let len = b.len();
    match m {
        Mutation::Flip(i, x) => b[i.index(len)] ^= x,
        Mutation::Set(i, x) => b[i.index(len)] = *x,
        Mutation::Poke(i, v) => poke(b, i.index(len), v.to_le_bytes()),
        Mutation::PokeNearMagic(i, off, v, be) => {
            if let Some(&at) = magics.get(i.index(magics.len().max(1))) {
                let bytes = if *be {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                poke(b, at + usize::from(*off), bytes);
            }
        }
        Mutation::Truncate(i) => b.truncate(i.index(len)),
        Mutation::Insert(i, bytes) => {
            let at = i.index(len);
            b.splice(at..at, bytes.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let at = i.index(len);
            let end = (at + usize::from(*n)).min(len);
            b.drain(at..end);
        }
        Mutation::Append(bytes) => b.extend_from_slice(bytes),
        Mutation::Splice(from, to, n) => {
            let from = from.index(len);
            let to = to.index(len);
            let n = usize::from(*n).min(len - from).min(len - to);
            let chunk = b[from..from + n].to_vec();
            b[to..to + n].copy_from_slice(&chunk);
        }
    }
}

fn poke(b: &mut [u8], at: usize, bytes: [u8; 4]) {
    for (k, byte) in bytes.into_iter().enumerate() {
        if let Some(slot) = b.get_mut(at + k) {
            *slot = byte;
        }
    }
}

fn mutate(seed: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    let magics = magic_offsets(&b);
    for m in ms {
        apply(&mut b, m, &magics);
    }
    b
}

struct Seeds {
    wheels: Vec<(String, Vec<u8>)>,
    binaries: Vec<(Vec<u8>, &'static str)>,
    tar: Vec<u8>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let linux = Spec::platform("manylinux_2_17_x86_64", binary("linux-ok"));
        let stored = Spec {
            method: zip::CompressionMethod::Stored,
            ..Spec::platform("macosx_11_0_arm64", binary("mac-arm64-ok"))
        };
        let mut windows = Spec::platform("win_amd64", binary("win-ok"));
        windows.method = zip::CompressionMethod::Stored;
        let wheels = [linux, stored, windows, Spec::pure()]
            .iter()
            .map(|s| (s.file_name.clone(), s.build()))
            .collect();
        let binaries = vec![
            (binary("linux-ok"), "manylinux_2_17_x86_64"),
            (binary("linux-needs-lib"), "manylinux_2_17_x86_64"),
            (binary("mac-arm64-ok"), "macosx_11_0_arm64"),
            (binary("mac-x64-dylib"), "macosx_10_12_x86_64"),
            (binary("win-ok"), "win_amd64"),
            (binary("win-needs-dll"), "win_amd64"),
            (macho_fat(&binary("mac-arm64-ok")), "macosx_11_0_arm64"),
            (binary("linux-ok"), "musllinux_1_2_x86_64"),
        ];
        let mut tar = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar);
            for m in good_sdist_members() {
                let mut h = tar::Header::new_gnu();
                h.set_path(String::from_utf8_lossy(&m.path).as_ref())
                    .expect("path");
                h.set_size(m.content.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                builder.append(&h, m.content.as_slice()).expect("append");
            }
            builder.finish().expect("finish");
        }
        Seeds {
            wheels,
            binaries,
            tar,
        }
    })
}

/// Runs `f` on a watchdog thread: a hang fails the test at once (instead of after minutes) and
/// leaves the input in target/check-fixtures/fuzz-hangs/ to reproduce it.
fn timed<T: Send + 'static>(what: &str, input: &[u8], f: impl FnOnce() -> T + Send + 'static) -> T {
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(MAX_PER_CASE) {
        Ok(out) => out,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            let dir = crate::project_root().join("target/check-fixtures/fuzz-hangs");
            let name = record_hash(input).replace("sha256=", "");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(&name), input);
            panic!(
                "{what} still running after {:?}; input saved as {}",
                start.elapsed(),
                dir.join(name).display()
            );
        }
        Err(e) => panic!("{what} panicked: {e}"),
    }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b).expect("gzip");
    gz.finish().expect("gzip")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_wheels_never_panic(which in 0usize..4, ms in proptest::collection::vec(mutation(), 1..6)) {
        quiet_goblin_panics();
        let (name, seed) = &seeds().wheels[which];
        let bytes = mutate(seed, &ms);
        let name = name.clone();
        let findings = timed("wheel check", &bytes.clone(), move || check_wheel_bytes(&name, &bytes));
        for f in &findings {
            prop_assert!(!f.message.is_empty());
        }
    }

    #[test]
    fn mutated_binaries_never_panic(which in 0usize..8, ms in proptest::collection::vec(mutation(), 1..6)) {
        quiet_goblin_panics();
        let (seed, tag) = &seeds().binaries[which];
        let bytes = mutate(seed, &ms);
        let tag: &'static str = tag;
        let input = std::sync::Arc::new(bytes);
        let b = input.clone();
        let findings = timed("binary check", &input, move || check_binary_bytes(&b, tag));
        prop_assert!(findings.iter().all(|f| !f.message.is_empty()));
        let b = input.clone();
        let _ = timed("verify", &input, move || macho_sign::verify(&b));
        let b = input.clone();
        if let Ok(signed) = timed("resign", &input, move || macho_sign::resign_adhoc(&b, "fuzz")) {
            // Whatever we sign must verify.
            prop_assert!(macho_sign::verify(&signed).is_ok(), "{:?}", macho_sign::verify(&signed));
        }
    }

    /// Tag-shaped strings: parsing never panics, and what parses prints back exactly.
    #[test]
    fn tags_parse_and_round_trip(s in "(manylinux|manylinux1|manylinux2014|musllinux|macosx|ios|android|linux|win)?_?(0|1|2|10|11|17|21|05)?_?(0|5|9|12|17)?_?(x86_64|i686|aarch64|arm64|armv7l|ppc64le|universal2|intel|fat3|amd64|arm64_v8a|armeabi_v7a|x86|[a-z0-9_]{0,6})(_iphoneos|_iphonesimulator)?") {
        if let Ok(tag) = crate::wheel::PlatformTag::parse(&s) {
            prop_assert_eq!(tag.to_string(), s);
            let _ = tag.pypi_refusal();
            prop_assert!(!tag.expectation().arches.is_empty());
        }
    }

    #[test]
    fn mutated_sdists_never_panic(ms in proptest::collection::vec(mutation(), 1..6), on_tar in any::<bool>()) {
        quiet_goblin_panics();
        let bytes = if on_tar {
            gzip(&mutate(&seeds().tar, &ms))
        } else {
            mutate(&gzip(&seeds().tar), &ms)
        };
        let _ = timed("sdist check", &bytes.clone(), move || check_sdist_bytes(SDIST, &bytes));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), tag in 0usize..7) {
        quiet_goblin_panics();
        let tags = ["manylinux_2_17_x86_64", "macosx_10_12_x86_64", "macosx_11_0_arm64", "win_amd64", "musllinux_1_2_aarch64", "macosx_10_9_universal2", "win32"];
        let tag = tags[tag];
        let input = bytes.clone();
        timed("random bytes", &input, move || {
            let _ = check_binary_bytes(&bytes, tag);
            let _ = check_wheel_bytes("mcp_sidecar-0.1.0-py3-none-win_amd64.whl", &bytes);
            let _ = check_sdist_bytes(SDIST, &bytes);
            let _ = macho_sign::verify(&bytes);
        });
    }
}

/// The seeds themselves are clean: a mutation, not the seed, causes every finding above.
#[test]
fn fuzz_seeds_are_clean() {
    for (name, bytes) in &seeds().wheels {
        assert!(check_wheel_bytes(name, bytes).is_empty(), "{name}");
    }
    let bare: Vec<Kind> = seeds()
        .binaries
        .iter()
        .step_by(2)
        .flat_map(|(b, tag)| check_binary_bytes(b, tag))
        .map(|f| f.kind)
        .collect();
    assert!(bare.is_empty(), "{bare:?}");
    assert!(check_sdist_bytes(SDIST, &gzip(&seeds().tar)).is_empty());
    eprintln!(
        "goblin/tar panics caught so far in this process: {}",
        GOBLIN_PANICS.load(Ordering::Relaxed)
    );
}
