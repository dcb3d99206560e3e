//! Weight files: PyTorch `.pt` archives and `.safetensors` behind one reader, and conversion.
//!
//! [`WeightFile::open`] recognises the format from the first bytes (a zip archive is a
//! `torch.save` file; anything else must be safetensors), lists the tensors with their shapes
//! without reading data, and reads single tensors as `f32` on request. safetensors files are
//! memory-mapped, so opening a large file costs no memory until tensors are read.
//! Which keys a MATPAC encoder needs, and which are tolerated, is decided in [`super::keys`].

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::pickle::StorageDtype;
use super::pt::{PtArchive, RawTensor};
use crate::error::{Error, Result};

/// The container format of a weight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// A `torch.save` zip archive (`.pt`, `.pth`).
    PyTorch,
    /// A safetensors file.
    Safetensors,
}

/// Location of a tensor inside a memory-mapped safetensors file.
struct StEntry {
    dtype: StorageDtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

enum Source {
    Pt(Box<PtArchive>),
    St {
        map: memmap2::Mmap,
        entries: BTreeMap<String, StEntry>,
    },
}

/// An opened weight file.
pub struct WeightFile {
    path: PathBuf,
    source: Source,
    metadata: BTreeMap<String, String>,
}

fn err(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {why}", path.display()))
}

/// Maps a file read-only.
#[allow(unsafe_code)]
fn map_file(path: &Path) -> Result<memmap2::Mmap> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: the map is read-only and private to this process. Another process truncating or
    // rewriting the weight file while it is open is outside what Earmark guards against (the same
    // assumption every mmap-based model loader makes); the data is copied into tensors at load.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))
}

fn st_dtype(d: safetensors::Dtype) -> Option<StorageDtype> {
    use safetensors::Dtype as D;
    Some(match d {
        D::F32 => StorageDtype::F32,
        D::F64 => StorageDtype::F64,
        D::F16 => StorageDtype::F16,
        D::BF16 => StorageDtype::BF16,
        D::I64 => StorageDtype::I64,
        D::I32 => StorageDtype::I32,
        D::I16 => StorageDtype::I16,
        D::I8 => StorageDtype::I8,
        D::U8 => StorageDtype::U8,
        D::BOOL => StorageDtype::Bool,
        _ => return None,
    })
}

impl WeightFile {
    /// Opens a weight file and lists its tensors.
    pub fn open(path: &Path) -> Result<Self> {
        let mut magic = [0u8; 4];
        {
            use std::io::Read;
            let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
            let n = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
            if n < 4 {
                return Err(err(path, "file too short to be a weight file"));
            }
        }
        if &magic == b"PK\x03\x04" || &magic == b"PK\x05\x06" {
            let pt = PtArchive::open(path)?;
            return Ok(WeightFile {
                path: path.to_owned(),
                source: Source::Pt(Box::new(pt)),
                metadata: BTreeMap::new(),
            });
        }
        if magic[0] == 0x80 {
            return Err(err(
                path,
                "legacy (pre-zip) PyTorch format is not supported; re-save it with a current torch.save",
            ));
        }
        let map = map_file(path)?;
        let (header_len, meta) = safetensors::SafeTensors::read_metadata(&map).map_err(|e| {
            err(
                path,
                format!("neither a PyTorch archive nor safetensors ({e})"),
            )
        })?;
        let base = 8 + header_len;
        let mut entries = BTreeMap::new();
        for (name, info) in meta.tensors() {
            let dtype = st_dtype(info.dtype).ok_or_else(|| {
                err(
                    path,
                    format!("`{name}`: unsupported dtype {:?}", info.dtype),
                )
            })?;
            let (s, e) = info.data_offsets;
            entries.insert(
                name,
                StEntry {
                    dtype,
                    shape: info.shape.clone(),
                    start: base + s,
                    end: base + e,
                },
            );
        }
        let metadata = meta
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(WeightFile {
            path: path.to_owned(),
            source: Source::St { map, entries },
            metadata,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container format.
    pub fn format(&self) -> WeightFormat {
        match self.source {
            Source::Pt(_) => WeightFormat::PyTorch,
            Source::St { .. } => WeightFormat::Safetensors,
        }
    }

    /// Names of all tensors, sorted.
    pub fn tensor_names(&self) -> Vec<String> {
        match &self.source {
            Source::Pt(pt) => pt.tensors.keys().cloned().collect(),
            Source::St { entries, .. } => entries.keys().cloned().collect(),
        }
    }

    /// Names of entries that are not tensors (only `.pt` files have them).
    pub fn non_tensor_names(&self) -> Vec<String> {
        match &self.source {
            Source::Pt(pt) => pt.others.clone(),
            Source::St { .. } => Vec::new(),
        }
    }

    /// Shape of a tensor, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        match &self.source {
            Source::Pt(pt) => pt.tensors.get(name).map(|t| t.shape.as_slice()),
            Source::St { entries, .. } => entries.get(name).map(|t| t.shape.as_slice()),
        }
    }

    /// Whether the tensor holds floating-point values.
    pub fn is_float(&self, name: &str) -> bool {
        let d = match &self.source {
            Source::Pt(pt) => pt.tensors.get(name).map(|t| t.dtype),
            Source::St { entries, .. } => entries.get(name).map(|t| t.dtype),
        };
        matches!(
            d,
            Some(StorageDtype::F32 | StorageDtype::F64 | StorageDtype::F16 | StorageDtype::BF16)
        )
    }

    /// The safetensors header metadata (empty for `.pt`).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    fn read_raw(&mut self, name: &str) -> Result<RawTensor> {
        match &mut self.source {
            Source::Pt(pt) => pt.read(name),
            Source::St { map, entries } => {
                let e = entries
                    .get(name)
                    .ok_or_else(|| err(&self.path, format!("no tensor `{name}`")))?;
                let bytes = map
                    .get(e.start..e.end)
                    .ok_or_else(|| err(&self.path, format!("`{name}`: data out of range")))?;
                Ok(RawTensor {
                    dtype: e.dtype,
                    shape: e.shape.clone(),
                    bytes: bytes.to_vec(),
                })
            }
        }
    }

    /// Reads a floating-point tensor as `f32` values with its shape.
    pub fn read_f32(&mut self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let raw = self.read_raw(name)?;
        let b = &raw.bytes;
        let values: Vec<f32> = match raw.dtype {
            StorageDtype::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            StorageDtype::F64 => b
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    f64::from_le_bytes(a) as f32
                })
                .collect(),
            StorageDtype::F16 => b
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            StorageDtype::BF16 => b
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(err(
                    &self.path,
                    format!("`{name}` holds {other:?} values, expected floating point"),
                ));
            }
        };
        Ok((raw.shape, values))
    }

    /// Reads a floating-point tensor as an `f32` candle tensor on `device`.
    pub fn tensor(&mut self, name: &str, device: &Device) -> Result<Tensor> {
        let (shape, values) = self.read_f32(name)?;
        Tensor::from_vec(values, shape, device)
            .map_err(|e| err(&self.path, format!("`{name}`: {e}")))
    }
}

/// Writes `f32` tensors to a safetensors file with optional header metadata.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<()> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| err(path, format!("`{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize_to_file(views, metadata, path).map_err(|e| err(path, e))
}
