//! Opus decoding through libopus, fed with packets that Symphonia's Ogg (or Matroska) reader
//! demultiplexes. Symphonia has no Opus decoder of its own.
//!
//! Handles the Ogg Opus header (RFC 7845): channel count, output gain and pre-skip. Streams whose
//! channel mapping needs libopus's multistream decoder (more than two channels) are refused with a
//! clear reason.

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::packet::Packet;

/// Opus always decodes at 48 kHz here.
pub const OPUS_RATE: u32 = 48_000;
/// The longest Opus packet is 120 ms: 5,760 frames at 48 kHz.
const MAX_FRAMES_PER_PACKET: usize = 5_760;

/// A libopus decoder with the trimming and gain of one Ogg Opus stream.
pub struct OpusStreamDecoder {
    decoder: opus::Decoder,
    channels: usize,
    gain: f32,
    /// Pre-skip frames still to drop when the container did not mark them on the packets.
    pending_skip: usize,
    scratch: Vec<f32>,
}

impl OpusStreamDecoder {
    /// Prepares a decoder from the track's codec parameters (the `OpusHead` packet in
    /// `extra_data`) and the container's declared delay (pre-skip).
    pub fn new(params: &AudioCodecParameters, delay: u32) -> Result<Self, String> {
        let head = params.extra_data.as_deref().unwrap_or(&[]);
        let (channels, pre_skip, gain_q8, mapping_family) = parse_opus_head(head)?;
        let channels = if channels == 0 {
            params.channels.as_ref().map(|c| c.count()).unwrap_or(0)
        } else {
            channels
        };
        let layout = match channels {
            1 => opus::Channels::Mono,
            2 => opus::Channels::Stereo,
            n => {
                return Err(format!(
                    "Opus with {n} channels (mapping family {mapping_family}) is not supported; \
                     mono and stereo Opus are"
                ));
            }
        };
        let decoder = opus::Decoder::new(OPUS_RATE, layout)
            .map_err(|e| format!("cannot start the Opus decoder: {e}"))?;
        Ok(OpusStreamDecoder {
            decoder,
            channels,
            gain: 10f32.powf(f32::from(gain_q8) / 256.0 / 20.0),
            // Ogg marks the pre-skip on its packets (and as the track delay); Matroska leaves it
            // to the header.
            pending_skip: if delay > 0 {
                delay
            } else {
                u32::from(pre_skip)
            } as usize,
            scratch: vec![0.0; MAX_FRAMES_PER_PACKET * channels],
        })
    }

    /// Number of output channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Decodes one packet into `out` (interleaved, replacing its contents).
    pub fn decode(&mut self, packet: &Packet, out: &mut Vec<f32>) -> Result<(), String> {
        let frames = self
            .decoder
            .decode_float(&packet.data, &mut self.scratch, false)
            .map_err(|e| e.to_string())?;
        let trim_start = usize::try_from(packet.trim_start.get()).unwrap_or(usize::MAX);
        let trim_end = usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX);
        if trim_start > 0 {
            // The container marks the pre-skip on the packets itself.
            self.pending_skip = 0;
        }
        let mut start = trim_start.min(frames);
        let end = frames.saturating_sub(trim_end).max(start);
        let skip = self.pending_skip.min(end - start);
        start += skip;
        self.pending_skip -= skip;
        out.clear();
        out.extend(
            self.scratch[start * self.channels..end * self.channels]
                .iter()
                .map(|v| v * self.gain),
        );
        Ok(())
    }
}

/// Reads `(channels, pre-skip, output gain in Q7.8 dB, mapping family)` from an `OpusHead`.
fn parse_opus_head(head: &[u8]) -> Result<(usize, u16, i16, u8), String> {
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        // Without a header, assume the container's channel count and no pre-skip.
        return Ok((0, 0, 0, 0));
    }
    let channels = usize::from(head[9]);
    let pre_skip = u16::from_le_bytes([head[10], head[11]]);
    let gain = i16::from_le_bytes([head[16], head[17]]);
    Ok((channels, pre_skip, gain, head[18]))
}
