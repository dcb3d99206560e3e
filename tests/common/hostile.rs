//! Hostile inputs of a few KB that once hung Earmark or asked for gigabytes: `.pt` pickles
//! (shared dicts, a re-memoised list, a long repeated key, a flood of `DUP`s) and probe archives
//! that inflate far beyond their size, one of them with a header that lies about it.
#![allow(clippy::unwrap_used)] // test helper: a panic is a failed assertion
#![allow(dead_code)] // each test file uses some of the builders

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// `X` opcode: a text string.
fn text(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'X');
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

/// 62 levels of dicts, each holding the one below twice: 1.6 KB that unfolds into 2^62 paths.
pub fn shared_dicts(levels: u8) -> Vec<u8> {
    let mut p = b"\x80\x02}q\x00".to_vec();
    for i in 1..=levels {
        p.extend_from_slice(b"}(");
        text(&mut p, b"a");
        p.extend_from_slice(&[b'h', i - 1]);
        text(&mut p, b"b");
        p.extend_from_slice(&[b'h', i - 1]);
        p.extend_from_slice(&[b'u', b'q', i]);
    }
    p.push(b'.');
    p
}

/// `{'k': [1, 1, …]}` with the list put back in the memo after each of `n` appends.
pub fn rememoised_list(n: usize) -> Vec<u8> {
    let mut p = b"\x80\x02}".to_vec();
    text(&mut p, b"k");
    p.extend_from_slice(b"]q\x00");
    for _ in 0..n {
        p.extend_from_slice(b"K\x01aq\x00");
    }
    p.extend_from_slice(b"s.");
    p
}

/// A dict whose `n` entries all use one key of `key_len` bytes.
pub fn long_repeated_key(key_len: usize, n: usize) -> Vec<u8> {
    let mut p = b"\x80\x02}(".to_vec();
    text(&mut p, &vec![b'k'; key_len]);
    p.extend_from_slice(b"q\x00K\x01");
    for _ in 1..n {
        p.extend_from_slice(b"h\x00K\x01");
    }
    p.extend_from_slice(b"u.");
    p
}

/// An empty dict duplicated `n` times on the stack.
pub fn dup_flood(n: usize) -> Vec<u8> {
    let mut p = b"\x80\x02}".to_vec();
    p.resize(p.len() + n, b'2');
    p.push(b'.');
    p
}

/// The four hostile checkpoints of issue 15 at full size, with their names.
pub fn hostile_programs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("shared-dicts", shared_dicts(62)),
        ("rememoised-list", rememoised_list(1_000_000)),
        ("long-key", long_repeated_key(8 << 20, 5000)),
        ("dup-flood", dup_flood(60_000_000)),
    ]
}

/// Writes a `torch.save`-style archive whose `data.pkl` is `program`, deflated (so a large
/// program makes a small file).
pub fn write_deflated_pt(path: &Path, program: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    zip.start_file("archive/data.pkl", opts).unwrap();
    zip.write_all(program).unwrap();
    zip.start_file("archive/version", opts).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.finish().unwrap();
}

/// Writes a probe archive with one head entry `name` of `len` zero bytes, deflated (streamed, so
/// gigabytes cost no memory here).
pub fn write_zero_bomb(path: &Path, name: &str, len: u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(len >= u32::MAX as u64);
    zip.start_file(name, opts).unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        zip.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    zip.finish().unwrap();
}

/// Rewrites the uncompressed size of every entry of a (non-zip64) archive, in the local and
/// central headers, to `claimed`: a header that lies about how much the entry inflates to.
pub fn lie_about_sizes(path: &Path, claimed: u32) {
    let bytes = std::fs::read(path).unwrap();
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let mut patch = |at: usize| {
        file.seek(SeekFrom::Start(at as u64)).unwrap();
        file.write_all(&claimed.to_le_bytes()).unwrap();
    };
    for i in 0..bytes.len().saturating_sub(4) {
        match &bytes[i..i + 4] {
            b"PK\x03\x04" => patch(i + 22),
            b"PK\x01\x02" => patch(i + 24),
            _ => {}
        }
    }
}
