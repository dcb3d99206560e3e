//! Which checkpoint keys a MATPAC encoder needs, and how unknown keys are judged.
//!
//! The official loader (`load_state_dict(strict=False)`) silently ignores unknown keys and keeps
//! random or zero values for missing ones. Earmark is strict, with one allowance:
//!
//! - every encoder key ([`expected_encoder_keys`]) must be present with exactly the expected shape
//!   and a floating-point type, or loading fails naming the key;
//! - keys under the head prefixes ([`HEAD_PREFIXES`]: the AudioSet head, probes) are left for
//!   [`crate::tags`] to read;
//! - keys under the training-only prefixes ([`TRAINING_PREFIXES`]: decoder, DINO heads, MCL
//!   heads, EMA teachers, the front end's buffers) are ignored, since release files may carry them;
//! - any other key is an error naming it (it means the file is not what it claims to be).
//!
//! A state dict nested one level down (`{"model": {...}}`) is found through its `cls_token`.

use super::config::EncoderConfig;
use super::weights::WeightFile;
use crate::error::{Error, Result};

/// Prefixes of head tensors that may sit in an encoder file (read by [`crate::tags`]).
pub const HEAD_PREFIXES: [&str; 4] = ["head.", "head_norm.", "probe.", "tags."];

/// Prefixes of training-only entries that an encoder load ignores.
pub const TRAINING_PREFIXES: [&str; 9] = [
    "decoder.",
    "cls_student_head.",
    "cls_head_loss.",
    "mcl_heads.",
    "_ema",
    "_cls_head_ema",
    "log_mel.",
    "teacher_encoder.",
    "mask_token",
];

/// Every tensor of the encoder with its shape, in checkpoint naming.
pub fn expected_encoder_keys(cfg: &EncoderConfig) -> Vec<(String, Vec<usize>)> {
    let d = cfg.embed_dim;
    let h = cfg.mlp_hidden_dim;
    let p = cfg.patch_size;
    let rows = 1 + cfg.freq_patches() * cfg.time_patches();
    let mut keys = vec![
        ("cls_token".to_owned(), vec![1, 1, d]),
        ("pos_embed".to_owned(), vec![1, rows, d]),
        ("patch_embed.proj.weight".to_owned(), vec![d, 1, p, p]),
        ("patch_embed.proj.bias".to_owned(), vec![d]),
    ];
    for i in 0..cfg.depth {
        let b = format!("student_encoder.blocks.{i}");
        let mut add = |n: &str, s: Vec<usize>| keys.push((format!("{b}.{n}"), s));
        add("norm1.weight", vec![d]);
        add("norm1.bias", vec![d]);
        add("attn.qkv.weight", vec![3 * d, d]);
        add("attn.qkv.bias", vec![3 * d]);
        add("attn.proj.weight", vec![d, d]);
        add("attn.proj.bias", vec![d]);
        add("norm2.weight", vec![d]);
        add("norm2.bias", vec![d]);
        add("mlp.fc1.weight", vec![h, d]);
        add("mlp.fc1.bias", vec![h]);
        add("mlp.fc2.weight", vec![d, h]);
        add("mlp.fc2.bias", vec![d]);
    }
    keys.push(("student_encoder.norm.weight".to_owned(), vec![d]));
    keys.push(("student_encoder.norm.bias".to_owned(), vec![d]));
    keys
}

/// The prefix under which the state dict sits (`""` for a flat file, `"model."` for
/// `{"model": state_dict}`), found through the unique `cls_token` key.
pub fn state_dict_prefix(file: &WeightFile) -> Result<String> {
    let names = file.tensor_names();
    if names.iter().any(|n| n == "cls_token") {
        return Ok(String::new());
    }
    let found: Vec<&String> = names
        .iter()
        .filter(|n| n.ends_with(".cls_token") && !is_training_only(n))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.trim_end_matches("cls_token").to_owned()),
        [] => Err(Error::Model(format!(
            "{}: missing key `cls_token` (not a MATPAC encoder checkpoint)",
            file.path().display()
        ))),
        _ => Err(Error::Model(format!(
            "{}: several state dicts hold a `cls_token`",
            file.path().display()
        ))),
    }
}

fn is_training_only(name: &str) -> bool {
    TRAINING_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn is_head(name: &str) -> bool {
    HEAD_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Checks a file against the encoder's key list; see the module docs for the rules.
/// `prefix` comes from [`state_dict_prefix`]. Entries outside the prefix are ignored.
pub fn check_encoder_keys(file: &WeightFile, cfg: &EncoderConfig, prefix: &str) -> Result<()> {
    let path = file.path().display();
    let expected = expected_encoder_keys(cfg);
    let mut missing = Vec::new();
    for (name, shape) in &expected {
        let full = format!("{prefix}{name}");
        match file.shape(&full) {
            None => missing.push(full),
            Some(s) if s != shape.as_slice() => {
                return Err(Error::Model(format!(
                    "{path}: key `{full}` has shape {s:?}, expected {shape:?}"
                )));
            }
            Some(_) if !file.is_float(&full) => {
                return Err(Error::Model(format!(
                    "{path}: key `{full}` is not a floating-point tensor"
                )));
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        let n = missing.len();
        let list = missing
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("`, `");
        let more = if n > 8 {
            format!(" and {} more", n - 8)
        } else {
            String::new()
        };
        return Err(Error::Model(format!("{path}: missing key `{list}`{more}")));
    }
    let known: std::collections::HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let all = file
        .tensor_names()
        .into_iter()
        .chain(file.non_tensor_names());
    for name in all {
        let Some(local) = name.strip_prefix(prefix) else {
            continue;
        };
        if known.contains(local) || is_head(local) || is_training_only(local) {
            continue;
        }
        return Err(Error::Model(format!(
            "{path}: unexpected key `{name}` (not part of a MATPAC encoder, its heads or the \
             known training-only entries)"
        )));
    }
    Ok(())
}
