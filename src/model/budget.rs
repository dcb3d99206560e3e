//! How much a loader may materialise from an untrusted file: a count of values and a count of
//! bytes, both a small multiple of the input's size plus a constant, and never more than a hard
//! cap. The pickle reader charges every value it creates or copies and every string it reads;
//! flattening the state dict charges every node it visits and every key it builds. Running out is
//! an error that says which limit was hit, so a few-KB hostile checkpoint ends in milliseconds
//! instead of running for hours or asking for gigabytes.

use crate::error::{Error, Result};

/// Hard cap on values (a ViT-B state dict needs about 5,000; a model with 50,000 tensors about
/// 1,000,000). At roughly 70 bytes per value this bounds the reader to about 150 MB.
pub const MAX_VALUES: usize = 2_000_000;

/// Hard cap on bytes of strings and keys built (a ViT-B state dict needs about 20 KB).
pub const MAX_BYTES: usize = 128 << 20;

/// Values allowed per byte of input, on top of [`BASE_VALUES`].
const VALUES_PER_BYTE: usize = 2;
/// Bytes allowed per byte of input, on top of [`BASE_BYTES`].
const BYTES_PER_BYTE: usize = 4;
/// Values every input may use, however small.
const BASE_VALUES: usize = 4096;
/// Bytes every input may use, however small.
const BASE_BYTES: usize = 1 << 20;

/// What is left of a loader's allowance.
#[derive(Debug, Clone)]
pub struct Budget {
    values: usize,
    bytes: usize,
    values_limit: usize,
    bytes_limit: usize,
}

impl Budget {
    /// The allowance for an input of `input_len` bytes.
    pub fn for_input(input_len: usize) -> Self {
        let values = input_len
            .saturating_mul(VALUES_PER_BYTE)
            .saturating_add(BASE_VALUES)
            .min(MAX_VALUES);
        let bytes = input_len
            .saturating_mul(BYTES_PER_BYTE)
            .saturating_add(BASE_BYTES)
            .min(MAX_BYTES);
        Self::with_limits(values, bytes)
    }

    /// An explicit allowance (tests use small ones).
    pub fn with_limits(values: usize, bytes: usize) -> Self {
        Budget {
            values,
            bytes,
            values_limit: values,
            bytes_limit: bytes,
        }
    }

    /// Charges `n` values (created, copied or visited).
    pub fn values(&mut self, n: usize) -> Result<()> {
        self.values = self.values.checked_sub(n).ok_or_else(|| {
            Error::Model(format!(
                "pickle: more than {} values built or visited (the file repeats or copies \
                 shared parts too often; nothing more was read)",
                self.values_limit
            ))
        })?;
        Ok(())
    }

    /// Charges `n` bytes of strings or keys.
    pub fn bytes(&mut self, n: usize) -> Result<()> {
        self.bytes = self.bytes.checked_sub(n).ok_or_else(|| {
            Error::Model(format!(
                "pickle: more than {} bytes of strings and keys built (the file repeats long \
                 names too often; nothing more was read)",
                self.bytes_limit
            ))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_grows_with_the_input_up_to_the_cap() {
        let mut small = Budget::for_input(10);
        assert!(small.values(BASE_VALUES + 20).is_ok());
        assert!(small.values(1).is_err());
        let mut huge = Budget::for_input(usize::MAX);
        assert!(huge.values(MAX_VALUES).is_ok());
        assert!(huge.values(1).is_err());
        assert!(huge.bytes(MAX_BYTES).is_ok());
        let err = huge.bytes(1).unwrap_err().to_string();
        assert!(err.contains("bytes"), "{err}");
    }
}
