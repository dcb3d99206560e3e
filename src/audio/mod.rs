//! Audio in: decoding every common file format, downmixing and resampling to the model's rate.
//!
//! [`decode::AudioDecoder`] streams interleaved frames from a file; [`resample::MonoResampler`]
//! turns them into 16 kHz mono; [`load_mono_16k`] and [`stream_mono_16k`] chain the two.
//! With the `live` feature, [`input`] captures from microphones and other input devices.

pub mod decode;
#[cfg(feature = "live")]
pub mod input;
mod mp4_edit;
mod mpeg_tail;
mod opus_codec;
pub mod playback;
pub mod resample;

use std::path::Path;

pub use decode::{AudioDecoder, AudioInfo};
pub use resample::MonoResampler;

use crate::Result;

/// The sample rate the MATPAC model expects.
pub const MODEL_SAMPLE_RATE: u32 = 16_000;

/// A mono clip at a known sample rate, full scale ±1.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioClip {
    /// The samples.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl AudioClip {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// What a streamed decode saw, beyond the samples themselves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamSummary {
    /// Frames decoded at the source rate.
    pub source_frames: u64,
    /// Samples produced at 16 kHz.
    pub output_samples: u64,
    /// Packets that failed to decode and were skipped (corrupt data inside the stream).
    pub skipped_packets: u64,
    /// Samples that were NaN or infinite and were replaced by silence.
    pub non_finite_samples: u64,
    /// The stream ended early (truncated file); what was readable was used.
    pub truncated: bool,
}

/// Decodes a whole file to 16 kHz mono in memory.
///
/// Memory is the 16 kHz mono result only: decoding and resampling are streamed.
pub fn load_mono_16k(path: &Path) -> Result<AudioClip> {
    let mut samples = Vec::new();
    stream_mono_16k(path, |block| {
        samples.extend_from_slice(block);
        Ok(())
    })?;
    Ok(AudioClip {
        samples,
        sample_rate: MODEL_SAMPLE_RATE,
    })
}

/// Decodes a file block by block, handing 16 kHz mono blocks to `sink` as they are produced.
///
/// Nothing of the file is held beyond one block at its source rate, so files of any length
/// stream in bounded memory. `sink` may stop the stream early by returning an error.
pub fn stream_mono_16k(
    path: &Path,
    mut sink: impl FnMut(&[f32]) -> Result<()>,
) -> Result<StreamSummary> {
    let mut decoder = AudioDecoder::open(path)?;
    let info = decoder.info().clone();
    let mut resampler = MonoResampler::new(info.sample_rate, info.channels, MODEL_SAMPLE_RATE)?;
    let mut out = Vec::new();
    let mut summary = StreamSummary::default();
    while let Some(block) = decoder.next_block()? {
        summary.source_frames += (block.len() / info.channels.max(1)) as u64;
        out.clear();
        resampler.process_interleaved(block, &mut out)?;
        if !out.is_empty() {
            summary.output_samples += out.len() as u64;
            sink(&out)?;
        }
    }
    out.clear();
    resampler.finish(&mut out)?;
    if !out.is_empty() {
        summary.output_samples += out.len() as u64;
        sink(&out)?;
    }
    let stats = decoder.stats();
    summary.skipped_packets = stats.skipped_packets;
    summary.non_finite_samples = stats.non_finite_samples;
    summary.truncated = stats.truncated;
    Ok(summary)
}
