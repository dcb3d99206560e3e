//! The fast CPU training path: one MATPAC update's forward and backward passes written out by
//! hand (fused, multi-threaded kernels on borrowed tensor storage, no autograd graph), and the
//! optimiser and EMA applied in place. `TrainState::train_step` takes it on the CPU for
//! single-head (MATPAC) runs; MATPAC++'s several heads and other devices keep candle's graph,
//! which also stays the reference the fast path is tested against (`tests/train_fast.rs`).
//!
//! - [`kernels`]: matrix products; [`rows`]: row passes (LayerNorm, GELU, softmax, sums);
//!   [`params`]: tensor views and gradients; [`pool`]: buffers reused between updates.
//! - [`block`]: linear layers, transformer blocks, stacks (`attention`: their softmax
//!   attention); [`head`]: classification head, losses.
//! - [`step`]: the whole forward and backward pass; [`inplace`]: AdamW and EMA in place.

mod attention;
pub mod block;
pub mod head;
pub mod inplace;
pub mod kernels;
pub mod params;
pub mod pool;
pub mod rows;
pub mod step;
