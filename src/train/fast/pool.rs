//! Reused `f32` buffers for the fast path. An update allocates the same few hundred large
//! buffers every time; fresh allocations of that size come from the operating system, whose
//! page faults and unmapping cost a fifth of a small model's update. A [`Buf`] returns its
//! memory here when dropped, and the next update takes it back.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Buffers kept for reuse.
static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// At most this many buffers are kept.
const MAX_KEPT: usize = 1024;

/// Buffers smaller than this go back to the allocator.
const MIN_KEPT: usize = 4096;

/// A buffer of `f32` values that goes back to the pool when dropped.
#[derive(Debug, Default)]
pub struct Buf(Vec<f32>);

/// An empty buffer with room for `len` values.
fn take(len: usize) -> Vec<f32> {
    let mut v = take_with_values(len);
    v.clear();
    v
}

/// A buffer with room for `len` values, still holding whatever a reused one held.
fn take_with_values(len: usize) -> Vec<f32> {
    if len >= MIN_KEPT
        && let Ok(mut pool) = POOL.lock()
    {
        // The smallest kept buffer that fits, unless it is far too large.
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len && v.capacity() <= 2 * len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            return pool.swap_remove(i);
        }
    }
    Vec::with_capacity(len)
}

impl Buf {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        let mut v = take(len);
        v.resize(len, 0.0);
        Buf(v)
    }

    /// `len` values that the caller overwrites, every one, before reading any: a reused buffer
    /// keeps its old values (skipping the zeroing pass), a new one starts as zeros.
    pub fn scratch(len: usize) -> Self {
        let mut v = take_with_values(len);
        if v.len() >= len {
            v.truncate(len);
        } else {
            v.resize(len, 0.0);
        }
        Buf(v)
    }

    /// Takes `values` into a buffer, so that their memory goes to the pool when dropped.
    pub fn from_vec(values: Vec<f32>) -> Self {
        Buf(values)
    }

    /// A copy of `values`.
    pub fn copy_of(values: &[f32]) -> Self {
        let mut v = take(values.len());
        v.extend_from_slice(values);
        Buf(v)
    }

    /// Values of an iterator of known length.
    pub fn collect(len: usize, values: impl Iterator<Item = f32>) -> Self {
        let mut v = take(len);
        v.extend(values);
        Buf(v)
    }

    /// The values as a plain vector (leaving the pool).
    pub fn into_vec(mut self) -> Vec<f32> {
        std::mem::take(&mut self.0)
    }
}

impl Deref for Buf {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() >= MIN_KEPT
            && let Ok(mut pool) = POOL.lock()
            && pool.len() < MAX_KEPT
        {
            pool.push(v);
        }
    }
}

/// Gives every kept buffer back to the allocator (at the end of a run).
pub fn release() {
    if let Ok(mut pool) = POOL.lock() {
        pool.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_reused_and_zeroed() {
        let mut a = Buf::zeros(10_000);
        a[5] = 3.0;
        let ptr = a.as_ptr();
        drop(a);
        let b = Buf::zeros(9_000);
        assert_eq!(b.len(), 9_000);
        assert!(b.iter().all(|&x| x == 0.0));
        // Another test may have taken it first; when it came back, it is the same memory.
        if b.as_ptr() == ptr {
            assert_eq!(b[5], 0.0);
        }
        assert_eq!(Buf::copy_of(&[1.0, 2.0]).into_vec(), vec![1.0, 2.0]);
        let s = Buf::scratch(12_345);
        assert_eq!(s.len(), 12_345);
        drop(s);
        assert_eq!(Buf::scratch(5_000).len(), 5_000);
    }
}
