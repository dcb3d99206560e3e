//! The fuzz targets: each feeds arbitrary bytes to one of Earmark's loaders of outside data and
//! must return (an error is fine) without panicking, hanging or blowing up. Shared by the
//! in-suite mutation fuzzer (`tests/fuzz_inputs.rs`) and the cargo-fuzz crate (`fuzz/`), which
//! includes this file by path.
#![allow(clippy::unwrap_used)] // harness: a failing scratch write is a broken test machine
#![allow(dead_code)]

use std::path::Path;

use earmark::audio::AudioDecoder;
use earmark::catalog::archive::{ArchiveLimits, unpack_probes_within};
use earmark::model::{ModelDescription, WeightFile, load, pt};

/// Extensions the decoder target gives its input (the container probe uses it as a hint).
pub const AUDIO_EXTENSIONS: [&str; 7] = ["wav", "mp3", "flac", "ogg", "m4a", "opus", "bin"];

/// Most blocks the decoder target pulls from one input.
const MAX_BLOCKS: usize = 100_000;

/// Decodes `data` as an audio file named `input.EXT` in `scratch`, to the end.
pub fn decode(data: &[u8], ext: &str, scratch: &Path) {
    let path = scratch.join(format!("input.{ext}"));
    std::fs::write(&path, data).unwrap();
    if let Ok(mut dec) = AudioDecoder::open(&path) {
        let _ = dec.info();
        for _ in 0..MAX_BLOCKS {
            match dec.next_block() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}

/// cargo-fuzz entry: the first byte picks the extension.
pub fn decode_any(data: &[u8], scratch: &Path) {
    let (ext, rest) = match data.split_first() {
        Some((&b, rest)) => (AUDIO_EXTENSIONS[b as usize % AUDIO_EXTENSIONS.len()], rest),
        None => ("bin", data),
    };
    decode(rest, ext, scratch);
}

/// Runs `data` as the `data.pkl` program of a `.pt` file and flattens the state dict.
pub fn pickle(data: &[u8]) {
    let _ = pt::read_state_dict(data);
}

/// Opens `data` as a weight file (safetensors, or a `.pt` zip archive), finds its configuration
/// and reads every tensor; text starting with `{` is read as a model description instead.
pub fn weights(data: &[u8], scratch: &Path) {
    if data.first() == Some(&b'{') {
        if let Ok(desc) = ModelDescription::from_json(&String::from_utf8_lossy(data), "fuzz") {
            let _ = desc.encoder.validate();
        }
        return;
    }
    let path = scratch.join("input.safetensors");
    std::fs::write(&path, data).unwrap();
    let Ok(mut file) = WeightFile::open(&path) else {
        return;
    };
    if let Ok(cfg) = load::resolve_config(&file) {
        let _ = cfg.validate();
    }
    for name in file.tensor_names() {
        let _ = file.read_f32(&name);
    }
}

/// Unpacks `data` as a probe archive into `scratch/heads`, with small limits.
pub fn archive(data: &[u8], scratch: &Path) {
    let path = scratch.join("input.zip");
    std::fs::write(&path, data).unwrap();
    let heads = scratch.join("heads");
    let limits = ArchiveLimits {
        max_entry_bytes: 4 << 20,
        max_total_bytes: 16 << 20,
    };
    let _ = unpack_probes_within(&path, &heads, &[], limits);
    let _ = std::fs::remove_dir_all(&heads);
}
