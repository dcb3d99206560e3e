//! Reading precomputed normalised log-mels from `.safetensors` or `.npy` files.
//!
//! Useful for tests, debugging and pipelines that compute features elsewhere. A safetensors
//! file must hold a tensor `logmel_norm` (or exactly one tensor) shaped `[80, T]` or `[1, 80, T]`;
//! an `.npy` file a little-endian `float32` C-order array of the same shape.

use std::path::Path;

use super::weights::WeightFile;
use crate::dsp::{LogMel, N_MELS};
use crate::error::{Error, Result};

fn err(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{}: {why}", path.display()))
}

fn to_logmel(path: &Path, shape: &[usize], data: Vec<f32>) -> Result<LogMel> {
    let frames = match shape {
        [N_MELS, t] | [1, N_MELS, t] => *t,
        _ => {
            return Err(err(
                path,
                format!("log-mel shape {shape:?}, expected [80, T] or [1, 80, T]"),
            ));
        }
    };
    if frames == 0 {
        return Err(err(path, "log-mel has no frames"));
    }
    Ok(LogMel { data, frames })
}

/// Reads a normalised log-mel from a `.safetensors` or `.npy` file.
pub fn read_logmel(path: &Path) -> Result<LogMel> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.eq_ignore_ascii_case("npy") {
        return read_npy(path);
    }
    let mut file = WeightFile::open(path)?;
    let names = file.tensor_names();
    let name = if names.iter().any(|n| n == "logmel_norm") {
        "logmel_norm".to_owned()
    } else if let [one] = names.as_slice() {
        one.clone()
    } else {
        return Err(err(
            path,
            "expected a tensor `logmel_norm` or a single tensor",
        ));
    };
    let (shape, data) = file.read_f32(&name)?;
    to_logmel(path, &shape, data)
}

fn read_npy(path: &Path) -> Result<LogMel> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err(path, "not an .npy file"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(err(path, format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start + hlen)
        .map(String::from_utf8_lossy)
        .ok_or_else(|| err(path, "truncated .npy header"))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f4'") || !compact.contains("'fortran_order':False") {
        return Err(err(
            path,
            "only little-endian float32 C-order arrays are supported",
        ));
    }
    let shape_text = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| err(path, "no shape in .npy header"))?;
    let shape = shape_text
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| err(path, "bad shape in .npy header"))
        })
        .collect::<Result<Vec<_>>>()?;
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let n = n.ok_or_else(|| err(path, "shape overflows"))?;
    let body = &bytes[start + hlen..];
    if body.len() != n * 4 {
        return Err(err(
            path,
            format!("holds {} bytes of data, shape needs {}", body.len(), n * 4),
        ));
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    to_logmel(path, &shape, data)
}
