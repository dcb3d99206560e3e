//! The values the restricted pickle reader builds: scalars, strings, reference-counted
//! containers with their nesting depth cached, tensors and storages, and the whitelisted globals.

use std::rc::Rc;

use crate::error::{Error, Result};

/// Deepest container nesting accepted (a state dict needs about 5).
pub(super) const MAX_DEPTH: u32 = 64;
/// Highest tensor rank accepted (PyTorch allows 64; real weights use at most 5).
pub(super) const MAX_RANK: usize = 64;
/// Longest storage key accepted (torch writes `0`, `1`, …).
pub(super) const MAX_STORAGE_KEY: usize = 1024;

/// Element type of a PyTorch storage, from the `torch.<Kind>Storage` global.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageDtype {
    /// `FloatStorage`.
    F32,
    /// `DoubleStorage`.
    F64,
    /// `HalfStorage`.
    F16,
    /// `BFloat16Storage`.
    BF16,
    /// `LongStorage`.
    I64,
    /// `IntStorage`.
    I32,
    /// `ShortStorage`.
    I16,
    /// `CharStorage`.
    I8,
    /// `ByteStorage`.
    U8,
    /// `BoolStorage`.
    Bool,
}

impl StorageDtype {
    pub(super) fn from_class(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }
}

/// A tensor as the pickle describes it: a view into a storage record of the zip archive.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    /// Name of the storage record (`data/<key>` in the archive).
    pub storage_key: String,
    /// Element type.
    pub dtype: StorageDtype,
    /// Elements in the storage as declared by the pickle.
    pub storage_numel: usize,
    /// Offset of the first element, in elements.
    pub offset: usize,
    /// Tensor shape.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
}

/// Whitelisted callables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Global {
    /// `collections.OrderedDict` (called with no arguments: an empty dict).
    OrderedDict,
    /// `torch._utils._rebuild_tensor_v2`.
    RebuildTensor,
    /// `torch._utils._rebuild_parameter` (the tensor it wraps).
    RebuildParameter,
    /// A `torch.<Kind>Storage` type.
    Storage(StorageDtype),
}

/// A container with its nesting depth cached.
#[derive(Debug, Clone)]
pub struct Node<T> {
    /// Nesting depth of this container.
    pub depth: u32,
    /// Its elements.
    pub items: Vec<T>,
}

/// A pickled value.
#[derive(Debug, Clone)]
pub enum Value {
    /// `None`, a boolean or a float (their values are never needed).
    Scalar,
    /// An integer.
    Int(i64),
    /// A text or byte string.
    Str(Rc<str>),
    /// A tuple or list.
    Seq(Rc<Node<Value>>),
    /// A dict (insertion order kept).
    Dict(Rc<Node<(Value, Value)>>),
    /// A tensor.
    Tensor(Rc<TensorRef>),
    /// A whitelisted callable.
    Global(Global),
    /// A persistent storage reference (`('storage', type, key, location, numel)`).
    Storage(Rc<(StorageDtype, String, usize)>),
    /// The stack marker.
    Mark,
}

impl Value {
    pub(super) fn depth(&self) -> u32 {
        match self {
            Value::Seq(n) => n.depth,
            Value::Dict(n) => n.depth,
            _ => 0,
        }
    }

    pub(super) fn seq(items: Vec<Value>) -> Result<Value> {
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        check_depth(depth)?;
        Ok(Value::Seq(Rc::new(Node { depth, items })))
    }

    pub(super) fn as_usize(&self, what: &str) -> Result<usize> {
        match self {
            Value::Int(i) if *i >= 0 => {
                usize::try_from(*i).map_err(|_| bad(format!("{what} too large")))
            }
            _ => Err(bad(format!("{what} is not a non-negative integer"))),
        }
    }

    pub(super) fn as_usizes(&self, what: &str) -> Result<Vec<usize>> {
        match self {
            Value::Seq(n) if n.items.len() > MAX_RANK => {
                Err(bad(format!("{what} has more than {MAX_RANK} dimensions")))
            }
            Value::Seq(n) => n.items.iter().map(|v| v.as_usize(what)).collect(),
            _ => Err(bad(format!("{what} is not a tuple"))),
        }
    }
}

pub(super) fn check_depth(depth: u32) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(bad(format!("containers nested deeper than {MAX_DEPTH}")));
    }
    Ok(())
}

pub(super) fn bad(why: String) -> Error {
    Error::Model(format!("pickle: {why}"))
}
