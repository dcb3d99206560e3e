//! Borrowed views of the training state's tensors ([`Weights`], read in place from candle's CPU
//! storage without copies) and the gradients of one update ([`Grads`], by checkpoint name).

use std::collections::{BTreeMap, HashMap};

use candle_core::{CpuStorage, Layout, Storage, StorageRef, Tensor};

use super::pool::Buf;
use crate::error::{Error, Result};

/// Read locks on a set of CPU tensors, held while a step reads them.
pub struct Locked<'t> {
    list: Vec<(&'t str, StorageRef<'t>, &'t Layout)>,
}

impl<'t> Locked<'t> {
    /// Locks `tensors` (name, tensor) for reading.
    pub fn new(tensors: impl IntoIterator<Item = (&'t str, &'t Tensor)>) -> Self {
        let list = tensors
            .into_iter()
            .map(|(name, t)| {
                let (s, l) = t.storage_and_layout();
                (name, s, l)
            })
            .collect();
        Locked { list }
    }

    /// The tensors' values by name (each must be contiguous f32 on the CPU).
    pub fn weights(&self) -> Result<Weights<'_>> {
        let mut map = HashMap::with_capacity(self.list.len());
        for (name, storage, layout) in &self.list {
            map.insert(*name, cpu_slice(storage, layout, name)?);
        }
        Ok(Weights { map })
    }
}

/// The contiguous f32 values of a CPU storage seen through `layout`.
pub fn cpu_slice<'s>(storage: &'s Storage, layout: &Layout, name: &str) -> Result<&'s [f32]> {
    let Storage::Cpu(CpuStorage::F32(v)) = storage else {
        return Err(Error::Tensor(format!(
            "`{name}` is not an f32 tensor on the CPU"
        )));
    };
    let (a, b) = layout
        .contiguous_offsets()
        .ok_or_else(|| Error::Tensor(format!("`{name}` is not contiguous")))?;
    v.get(a..b)
        .ok_or_else(|| Error::Tensor(format!("`{name}` lies outside its storage")))
}

/// The mutable contiguous f32 values of a CPU storage seen through `layout`.
pub fn cpu_slice_mut<'s>(storage: &'s mut CpuStorage, layout: &Layout) -> Option<&'s mut [f32]> {
    let CpuStorage::F32(v) = storage else {
        return None;
    };
    let (a, b) = layout.contiguous_offsets()?;
    v.get_mut(a..b)
}

/// Tensor values by checkpoint name.
pub struct Weights<'a> {
    map: HashMap<&'a str, &'a [f32]>,
}

impl<'a> Weights<'a> {
    /// The values of `name`, which must hold `len` of them.
    pub fn get(&self, name: &str, len: usize) -> Result<&'a [f32]> {
        let v = self
            .map
            .get(name)
            .copied()
            .ok_or_else(|| Error::Model(format!("training state lacks `{name}`")))?;
        if v.len() != len {
            return Err(Error::Model(format!(
                "`{name}` holds {} values, expected {len}",
                v.len()
            )));
        }
        Ok(v)
    }
}

/// Gradients of one update by checkpoint name (zero until something adds to them). Their
/// memory comes from the buffer pool (written zeros, so no copy-on-write faults while the
/// products add into them); hand it back with [`Buf::from_vec`] after the update.
#[derive(Debug, Default)]
pub struct Grads {
    /// The gradients.
    pub map: BTreeMap<String, Vec<f32>>,
}

impl Grads {
    /// The gradient of `name` (`len` values), created as zeros.
    pub fn slot(&mut self, name: &str, len: usize) -> &mut [f32] {
        self.map
            .entry(name.to_string())
            .or_insert_with(|| Buf::zeros(len).into_vec())
    }

    /// Takes the gradient of `name` out (zeros when there is none yet).
    pub fn take(&mut self, name: &str, len: usize) -> Vec<f32> {
        self.map
            .remove(name)
            .unwrap_or_else(|| Buf::zeros(len).into_vec())
    }

    /// Puts a gradient (back) under `name`.
    pub fn put(&mut self, name: &str, g: Vec<f32>) {
        self.map.insert(name.to_string(), g);
    }
}
