//! The MATPAC encoder in candle: configuration, weight files, the network and inference.
//!
//! - [`config`]: hyper-parameters, presets and the model description that travels with weights;
//! - [`weights`], [`keys`]: `.pt` (restricted pickle reader, no Python) and `.safetensors` files,
//!   with strict checks of key names and shapes;
//! - [`block`]: the transformer block shared by inference and training ([`Block`]);
//! - [`encoder`]: the ViT ([`Encoder`]);
//! - [`embed`]: precise / fast chunking, frequency layouts, pooling, batching ([`embed_batch`]);
//! - [`device`]: CPU, CUDA or Metal.
//!
//! ```no_run
//! # fn main() -> earmark::Result<()> {
//! use earmark::model::{Encoder, embed::{embed, EmbedOptions}};
//! let encoder = Encoder::load("matpac_plus_6s_2048_enconly.pt".as_ref(), &candle_core::Device::Cpu)?;
//! # let mel = earmark::dsp::LogMel { data: vec![0.0; 80 * 100], frames: 100 };
//! let clip = embed(&encoder, &mel, &EmbedOptions::default())?.clip_vector(); // 3840 values
//! # Ok(()) }
//! ```

pub(crate) mod attention;
pub mod block;
pub mod budget;
pub mod bundled;
pub mod chunk;
pub mod config;
pub mod device;
pub mod embed;
pub mod embed_options;
pub mod embed_stream;
pub mod encoder;
pub(crate) mod fused;
pub mod host;
pub mod keys;
pub mod layers;
pub mod load;
pub mod lowp;
pub mod mel_file;
pub mod pickle;
pub mod pos;
mod profile;
pub mod pt;
pub mod weights;

pub use block::Block;
pub use config::{EncoderConfig, ModelDescription};
pub use embed::{EmbedOptions, Embeddings, FreqLayout, Mode, embed, embed_batch};
pub use encoder::Encoder;
pub use layers::Ops;
pub use lowp::Precision;
pub use weights::WeightFile;

impl From<candle_core::Error> for crate::Error {
    fn from(e: candle_core::Error) -> Self {
        crate::Error::Tensor(e.to_string())
    }
}
