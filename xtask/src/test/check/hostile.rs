//! Hostile wheels, built here by hand (and cached under `target/check-corpus/hostile/`): members
//! that inflate to 1 GiB each, names and RECORD lines with ESC bytes, thousands of findings of
//! one kind. `check` must stay under 200 MB of memory (the child's max RSS), print no
//! raw control byte, and print at most `MAX_PER_KIND` findings of a kind per file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::check::MAX_PER_KIND;
use crate::config::Config;

const GIB: u32 = 1 << 30;
const MAX_RSS: u64 = 200 << 20;

struct Member {
    name: Vec<u8>,
    method: u16,
    crc: u32,
    size: u32,
    data: Vec<u8>,
}

fn stored(name: &[u8], data: &[u8]) -> Member {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    Member {
        name: name.to_vec(),
        method: 0,
        crc: crc.sum(),
        size: data.len() as u32,
        data: data.to_vec(),
    }
}

/// 1 GiB of zeros, deflated once (about 1 MiB) and reused for every bomb member.
fn gib_of_zeros(name: &[u8], deflated: &[u8], crc: u32) -> Member {
    Member {
        name: name.to_vec(),
        method: 8,
        crc,
        size: GIB,
        data: deflated.to_vec(),
    }
}

fn deflated_zeros() -> Result<(Vec<u8>, u32)> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let mut crc = flate2::Crc::new();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..(GIB >> 20) {
        enc.write_all(&chunk)?;
        crc.update(&chunk);
    }
    Ok((enc.finish()?, crc.sum()))
}

/// A zip written byte by byte, so nothing sanitises what a hostile writer would put there.
fn zip(members: &[Member]) -> Vec<u8> {
    let (mut out, mut cd) = (Vec::new(), Vec::new());
    let u16le = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let u32le = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for m in members {
        let offset = out.len() as u32;
        u32le(&mut out, 0x0403_4b50);
        for x in [20, 0, m.method, 0, 0x21] {
            u16le(&mut out, x);
        }
        for x in [m.crc, m.data.len() as u32, m.size] {
            u32le(&mut out, x);
        }
        u16le(&mut out, m.name.len() as u16);
        u16le(&mut out, 0);
        out.extend_from_slice(&m.name);
        out.extend_from_slice(&m.data);
        u32le(&mut cd, 0x0201_4b50);
        for x in [0x031e, 20, 0, m.method, 0, 0x21] {
            u16le(&mut cd, x);
        }
        for x in [m.crc, m.data.len() as u32, m.size] {
            u32le(&mut cd, x);
        }
        for x in [m.name.len() as u16, 0, 0, 0, 0] {
            u16le(&mut cd, x);
        }
        u32le(&mut cd, 0o100_644 << 16);
        u32le(&mut cd, offset);
        cd.extend_from_slice(&m.name);
    }
    let (cd_offset, cd_len, n) = (out.len() as u32, cd.len() as u32, members.len() as u16);
    out.extend_from_slice(&cd);
    u32le(&mut out, 0x0605_4b50);
    for x in [0, 0, n, n] {
        u16le(&mut out, x);
    }
    u32le(&mut out, cd_len);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

/// A wheel `NAME-1.0`: METADATA, WHEEL, this RECORD, the `extra` members, then `zeros` members
/// of 1 GiB each.
fn hostile(
    name: &str,
    record: &str,
    extra: Vec<Member>,
    zeros: usize,
    bomb: &(Vec<u8>, u32),
) -> Vec<u8> {
    let di = format!("{name}-1.0.dist-info");
    let mut members = vec![
        stored(
            format!("{di}/METADATA").as_bytes(),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n").as_bytes(),
        ),
        stored(
            format!("{di}/WHEEL").as_bytes(),
            b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        stored(format!("{di}/RECORD").as_bytes(), record.as_bytes()),
    ];
    members.extend(extra);
    for i in 0..zeros {
        members.push(gib_of_zeros(
            format!("{name}/zeros{i}.bin").as_bytes(),
            &bomb.0,
            bomb.1,
        ));
    }
    zip(&members)
}

/// Over the budget (six members of 1 GiB), with ESC in a name and in RECORD, and 5,000 RECORD
/// rows for files that are not there.
fn bomb(zeros: &(Vec<u8>, u32)) -> Vec<u8> {
    let mut record = String::from("bomb/\x1b[2Jcleared.txt,,\n");
    for i in 0..5000 {
        record.push_str(&format!("bomb/missing{i}.py,,\n"));
    }
    let esc = vec![stored(b"bomb/\x1b]0;pwned\x07title.txt", b"x")];
    hostile("bomb", &record, esc, 6, zeros)
}

/// Under the budget (three members of 1 GiB): each is streamed, never held.
fn stream(zeros: &(Vec<u8>, u32)) -> Vec<u8> {
    hostile("stream", "", Vec::new(), 3, zeros)
}

fn wheels(cfg: &Config) -> Result<[PathBuf; 2]> {
    let dir = cfg.target_dir.join("check-corpus/hostile");
    std::fs::create_dir_all(&dir)?;
    let paths = [
        dir.join("bomb-1.0-py3-none-any.whl"),
        dir.join("stream-1.0-py3-none-any.whl"),
    ];
    if paths.iter().any(|p| !p.is_file()) {
        eprintln!("==> building the hostile wheels (deflating 1 GiB of zeros once)");
        let zeros = deflated_zeros()?;
        std::fs::write(&paths[0], bomb(&zeros))?;
        std::fs::write(&paths[1], stream(&zeros))?;
    }
    Ok(paths)
}

pub fn run(sh: &Shell, cfg: &Config, python: &Path) -> Result<()> {
    let [bomb, stream] = wheels(cfg)?;
    for wheel in [&bomb, &stream] {
        let (code, stdout, rss) = measured(sh, python, wheel)?;
        let name = wheel.file_name().unwrap_or_default().to_string_lossy();
        eprintln!(
            "==> check {name}: exit {code:?}, max RSS {:.1} MiB, {} lines",
            rss as f64 / f64::from(1 << 20),
            stdout.lines().count()
        );
        ensure!(
            code == Some(1),
            "{name}: expected exit 1 (findings), got {code:?}"
        );
        ensure!(rss < MAX_RSS, "{name}: max RSS {rss} bytes, over {MAX_RSS}");
        ensure!(
            !stdout.chars().any(|c| c.is_control() && c != '\n'),
            "{name}: a raw control character reached the terminal"
        );
    }
    let (_, out, _) = measured(sh, python, &bomb)?;
    for expected in [
        "zip-too-large",
        "\\u{1b}[2J",
        "\\u{1b}]0;pwned\\u{7}",
        "more [record-extra-entry]",
    ] {
        ensure!(
            out.contains(expected),
            "bomb: the report lacks {expected:?}:\n{out}"
        );
    }
    let shown = out
        .lines()
        .filter(|l| l.starts_with("error[record-extra-entry]"))
        .count();
    ensure!(
        shown == MAX_PER_KIND,
        "bomb: {shown} record-extra-entry lines printed, want {MAX_PER_KIND}"
    );
    Ok(())
}

/// Starts the child from a small Python process and reads its children's max RSS there: a
/// child forked from this (large) process would report our own peak, since Linux carries the
/// pre-exec high-water mark into `ru_maxrss`.
const MEASURE: &str = "import resource, subprocess, sys\n\
with open(sys.argv[1], 'wb') as out:\n    code = subprocess.call(sys.argv[2:], stdout=out)\n\
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";

/// Runs `xtask check WHEEL`: exit code, stdout and the child's peak resident memory.
fn measured(sh: &Shell, python: &Path, wheel: &Path) -> Result<(Option<i32>, String, u64)> {
    let xtask = crate::util::self_exe()?;
    let out = wheel.with_extension("out");
    let line = cmd!(sh, "{python} -c {MEASURE} {out} {xtask} check {wheel}")
        .quiet()
        .read()?;
    let mut fields = line.split_whitespace().map(str::parse::<i64>);
    let (Some(Ok(code)), Some(Ok(kib))) = (fields.next(), fields.next()) else {
        bail!("the measuring script printed {line:?}");
    };
    let stdout = std::fs::read_to_string(&out).with_context(|| out.display().to_string())?;
    // Linux reports ru_maxrss in KiB.
    Ok((i32::try_from(code).ok(), stdout, kib.unsigned_abs() * 1024))
}
