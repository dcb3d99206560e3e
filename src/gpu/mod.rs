//! Encoder inference on any GPU through wgpu compute shaders (Vulkan, Metal, DirectX 12, GL).
//!
//! candle reaches only CUDA and Metal; this engine runs the same forward pass as WGSL kernels on
//! whatever adapter wgpu finds, in `f32`. [`context`] opens the device, [`kernels`] holds the
//! pipelines, [`encoder::GpuEncoder`] uploads the weights once and encodes batches of chunks.

pub mod context;
pub mod encoder;
mod kernels;

pub use context::{GpuContext, GpuOptions};
pub use encoder::GpuEncoder;
