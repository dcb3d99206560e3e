//! PyTorch `.pt` / `.pth` files (the zip format `torch.save` writes since PyTorch 1.6).
//!
//! The archive holds `<dir>/data.pkl` (a pickle describing the state dict, read with the
//! restricted [`super::pickle`] reader) and one record `<dir>/data/<key>` of raw little-endian
//! bytes per storage. Every size is checked before anything is allocated: the pickle may be at
//! most [`MAX_PICKLE_BYTES`], a tensor must fit in its storage record, and tensor data is read
//! only as far as the record really extends, so a lying header cannot make the reader allocate
//! more than the file holds. Parsing the pickle and flattening the state dict share one
//! [`Budget`] proportional to the pickle's length (see [`read_state_dict`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::budget::Budget;
use super::pickle::{self, StorageDtype, TensorRef, Value};
use crate::error::{Error, Result};

/// Largest `data.pkl` accepted (a ViT-B state dict needs about 20 KB).
pub const MAX_PICKLE_BYTES: u64 = 64 << 20;
/// Most entries a state dict may list.
const MAX_ENTRIES: usize = 1_000_000;
/// Longest state-dict key accepted (`a.b.c` names of real models are under 200 bytes).
pub const MAX_KEY_BYTES: usize = 4096;
/// A strided view (stride 0 repeats elements) may be at most this many times its storage…
const MAX_VIEW_RATIO: usize = 64;
/// …plus this many bytes; the same slack applies to [`MAX_INFLATION`].
const MAX_VIEW_SLACK: usize = 64 << 20;
/// A compressed storage record may inflate to at most this many times its compressed size
/// (plus the slack), so a small file cannot make the reader allocate gigabytes.
const MAX_INFLATION: u64 = 32;
/// Largest single tensor accepted, in bytes.
pub const MAX_TENSOR_BYTES: usize = 4 << 30;

/// A tensor read from a file: element type, shape and contiguous little-endian bytes.
#[derive(Debug, Clone)]
pub struct RawTensor {
    /// Element type.
    pub dtype: StorageDtype,
    /// Shape.
    pub shape: Vec<usize>,
    /// `numel × dtype.size()` bytes, row-major.
    pub bytes: Vec<u8>,
}

/// An opened `.pt` archive with its state dict parsed (tensor data is read on demand).
pub struct PtArchive {
    path: PathBuf,
    zip: zip::ZipArchive<BufReader<File>>,
    dir: String,
    /// Tensors by state-dict name.
    pub tensors: BTreeMap<String, TensorRef>,
    /// Names of entries that are not tensors.
    pub others: Vec<String>,
}

fn err(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {why}", path.display()))
}

impl PtArchive {
    /// Opens the archive and parses its pickle.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut zip = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| err(path, format!("not a readable PyTorch zip archive ({e})")))?;
        let names: Vec<String> = zip
            .file_names()
            .map(|n| n.map(|n| n.into_owned()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| err(path, format!("unreadable record name ({e})")))?;
        let pickles: Vec<String> = names
            .into_iter()
            .filter(|n| n.ends_with("/data.pkl") || n == "data.pkl")
            .collect();
        let pkl_name = match pickles.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(err(
                    path,
                    "no data.pkl in the archive (not a torch.save file)",
                ));
            }
            _ => return Err(err(path, "several data.pkl records in the archive")),
        };
        let dir = pkl_name
            .strip_suffix("data.pkl")
            .unwrap_or_default()
            .to_owned();
        let program = {
            let entry = zip.by_name(&pkl_name).map_err(|e| err(path, e))?;
            if entry.size() > MAX_PICKLE_BYTES {
                return Err(err(
                    path,
                    format!("data.pkl is {} bytes, too large", entry.size()),
                ));
            }
            let mut buf = Vec::new();
            entry
                .take(MAX_PICKLE_BYTES + 1)
                .read_to_end(&mut buf)
                .map_err(|e| err(path, format!("cannot read data.pkl: {e}")))?;
            if buf.len() as u64 > MAX_PICKLE_BYTES {
                return Err(err(path, "data.pkl is too large"));
            }
            buf
        };
        let flat = read_state_dict(&program).map_err(|e| match e {
            Error::Model(why) => err(path, why),
            other => err(path, other),
        })?;
        let mut tensors = BTreeMap::new();
        let mut others = Vec::new();
        for (name, entry) in flat {
            match entry {
                Entry::Tensor(t) => {
                    if tensors.insert(name.clone(), t).is_some() {
                        return Err(err(path, format!("key `{name}` appears twice")));
                    }
                }
                Entry::Other => others.push(name),
            }
        }
        Ok(PtArchive {
            path: path.to_owned(),
            zip,
            dir,
            tensors,
            others,
        })
    }

    /// Reads one tensor's data (strided views are gathered into a contiguous buffer).
    pub fn read(&mut self, name: &str) -> Result<RawTensor> {
        let path = self.path.clone();
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| err(&path, format!("no tensor `{name}`")))?
            .clone();
        let esize = t.dtype.size();
        let numel = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let numel = numel.ok_or_else(|| err(&path, format!("`{name}`: shape overflows")))?;
        let out_bytes = numel
            .checked_mul(esize)
            .filter(|&b| b <= MAX_TENSOR_BYTES)
            .ok_or_else(|| err(&path, format!("`{name}`: tensor too large")))?;
        // Highest element index the view touches, +1.
        let span = if numel == 0 {
            0
        } else {
            let last = t
                .shape
                .iter()
                .zip(&t.stride)
                .try_fold(t.offset, |acc, (&d, &s)| {
                    (d - 1).checked_mul(s).and_then(|x| acc.checked_add(x))
                });
            last.and_then(|l| l.checked_add(1))
                .ok_or_else(|| err(&path, format!("`{name}`: strides overflow")))?
        };
        if span > t.storage_numel {
            return Err(err(
                &path,
                format!(
                    "`{name}`: view needs {span} elements, storage declares {}",
                    t.storage_numel
                ),
            ));
        }
        let need = span
            .checked_mul(esize)
            .filter(|&b| b <= MAX_TENSOR_BYTES.saturating_mul(2))
            .ok_or_else(|| err(&path, format!("`{name}`: storage too large")))?;
        if out_bytes
            > need
                .saturating_mul(MAX_VIEW_RATIO)
                .saturating_add(MAX_VIEW_SLACK)
        {
            return Err(err(
                &path,
                format!("`{name}`: a view of {out_bytes} bytes over {need} bytes of storage"),
            ));
        }
        let record = format!("{}data/{}", self.dir, t.storage_key);
        let entry = self
            .zip
            .by_name(&record)
            .map_err(|e| err(&path, format!("`{name}`: storage record {record}: {e}")))?;
        let inflated_cap = entry
            .compressed_size()
            .saturating_mul(MAX_INFLATION)
            .saturating_add(MAX_VIEW_SLACK as u64);
        if entry.size() > inflated_cap {
            return Err(err(
                &path,
                format!(
                    "`{name}`: storage record {record} inflates from {} to {} bytes \
                     (torch.save stores records uncompressed)",
                    entry.compressed_size(),
                    entry.size()
                ),
            ));
        }
        if entry.size() < need as u64 {
            return Err(err(
                &path,
                format!(
                    "`{name}`: storage record {record} has {} bytes, needs {need}",
                    entry.size()
                ),
            ));
        }
        let mut storage = Vec::new();
        entry
            .take(need as u64)
            .read_to_end(&mut storage)
            .map_err(|e| err(&path, format!("`{name}`: reading {record}: {e}")))?;
        if storage.len() != need {
            return Err(err(
                &path,
                format!("`{name}`: storage record {record} is truncated"),
            ));
        }
        let bytes = if is_contiguous(&t.shape, &t.stride) {
            storage.drain(t.offset * esize..).collect()
        } else {
            gather(&storage, &t, esize, out_bytes)
        };
        Ok(RawTensor {
            dtype: t.dtype,
            shape: t.shape,
            bytes,
        })
    }
}

fn is_contiguous(shape: &[usize], stride: &[usize]) -> bool {
    let mut expect = 1;
    for (&d, &s) in shape.iter().zip(stride).rev() {
        if d != 1 && s != expect {
            return false;
        }
        expect *= d;
    }
    true
}

/// Copies a strided view element by element into row-major order (indices already checked).
fn gather(storage: &[u8], t: &TensorRef, esize: usize, out_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(out_bytes);
    let rank = t.shape.len();
    let mut idx = vec![0usize; rank];
    let numel: usize = t.shape.iter().product();
    for _ in 0..numel {
        let e = t.offset + idx.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        out.extend_from_slice(&storage[e * esize..(e + 1) * esize]);
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < t.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// One entry of a flattened state dict.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A tensor.
    Tensor(TensorRef),
    /// Anything else (numbers, strings, lists, …) — kept only so callers can name it.
    Other,
}

/// Runs a `data.pkl` program and flattens the state dict it builds, both within one [`Budget`]
/// for the program's length.
pub fn read_state_dict(program: &[u8]) -> Result<Vec<(String, Entry)>> {
    let mut budget = Budget::for_input(program.len());
    let root = pickle::parse_within(program, &mut budget)?;
    flatten(&root, MAX_ENTRIES, &mut budget)
}

/// Flattens nested dicts into `a.b.c` keys (as `state_dict` names them). At most `max_entries`
/// keys are produced; more is an error. Every node visited and every key byte built is charged
/// to `budget`, so a dict shared many times over (a DAG that unfolds into a huge tree) or a long
/// key repeated under many entries ends with an error instead of running on.
pub fn flatten(
    root: &Value,
    max_entries: usize,
    budget: &mut Budget,
) -> Result<Vec<(String, Entry)>> {
    let Value::Dict(_) = root else {
        return Err(pickle_err(
            "the file does not hold a dict of tensors".into(),
        ));
    };
    let mut out = Vec::new();
    let mut walk = Walk {
        out: &mut out,
        max: max_entries,
        budget,
    };
    walk.visit(root, String::new())?;
    Ok(out)
}

struct Walk<'a> {
    out: &'a mut Vec<(String, Entry)>,
    max: usize,
    budget: &'a mut Budget,
}

impl Walk<'_> {
    fn visit(&mut self, v: &Value, prefix: String) -> Result<()> {
        self.budget.values(1)?;
        if self.out.len() >= self.max {
            return Err(pickle_err(format!("more than {} entries", self.max)));
        }
        match v {
            Value::Dict(node) => {
                for (k, child) in &node.items {
                    let key = match k {
                        Value::Str(s) => s.to_string(),
                        Value::Int(i) => i.to_string(),
                        _ => return Err(pickle_err(format!("non-string key under `{prefix}`"))),
                    };
                    let len = prefix.len() + 1 + key.len();
                    if len > MAX_KEY_BYTES {
                        let place = if prefix.is_empty() {
                            "at the top level".to_owned()
                        } else {
                            format!("under `{}`", prefix.chars().take(64).collect::<String>())
                        };
                        return Err(pickle_err(format!(
                            "a key {place} is longer than {MAX_KEY_BYTES} bytes"
                        )));
                    }
                    self.budget.bytes(len)?;
                    let name = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    self.visit(child, name)?;
                }
            }
            Value::Tensor(t) => {
                self.budget.values(t.shape.len() + t.stride.len())?;
                self.budget.bytes(t.storage_key.len())?;
                self.out.push((prefix, Entry::Tensor((**t).clone())));
            }
            _ => self.out.push((prefix, Entry::Other)),
        }
        Ok(())
    }
}

fn pickle_err(why: String) -> Error {
    Error::Model(format!("pickle: {why}"))
}
