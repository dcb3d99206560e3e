//! Playback through the system's audio output (cpal, feature `live`): a [`Player`] owns one
//! output stream and plays a [`PlayBuffer`] (interleaved frames at their own rate, resampled
//! linearly to the device's rate) with play, pause, seek and a position the UI can follow.
//!
//! The audio callback never waits: it tries the buffer's lock and plays silence when it is
//! busy, and keeps the position in an atomic. Without the `live` feature, or without an output
//! device, [`Player::open`] returns [`Error::AudioOutput`] saying why.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Audio ready to play: interleaved frames at a sample rate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayBuffer {
    /// Interleaved samples, full scale ±1.
    pub samples: Vec<f32>,
    /// Channels per frame (at least 1).
    pub channels: usize,
    /// Frames per second.
    pub sample_rate: u32,
}

impl PlayBuffer {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Sample of `channel` (wrapped onto the channels there are) at fractional frame `pos`,
    /// interpolated linearly; `None` past the end.
    pub fn sample_at(&self, pos: f64, channel: usize) -> Option<f32> {
        let ch = self.channels.max(1);
        let frames = self.frames();
        if pos < 0.0 || frames == 0 || pos >= frames as f64 {
            return None;
        }
        let i = pos as usize;
        let c = channel % ch;
        let a = self.samples[i * ch + c];
        let b = if i + 1 < frames {
            self.samples[(i + 1) * ch + c]
        } else {
            a
        };
        let f = (pos - i as f64) as f32;
        Some(a + (b - a) * f)
    }
}

/// State shared between the player and its audio callback.
#[derive(Debug, Default)]
struct Shared {
    buffer: Mutex<Option<Arc<PlayBuffer>>>,
    /// Position in source frames, as `f64` bits.
    position: AtomicU64,
    playing: AtomicBool,
    /// Output frames written while playing: proof that the device is consuming audio.
    frames_out: AtomicU64,
    error: Mutex<Option<String>>,
}

impl Shared {
    fn position(&self) -> f64 {
        f64::from_bits(self.position.load(Ordering::Acquire))
    }

    fn set_position(&self, frames: f64) {
        self.position.store(frames.to_bits(), Ordering::Release);
    }

    /// Fills `out` (interleaved, `channels` per frame) at `rate`; silence when paused.
    // Only the cpal callback (feature `live`) and the tests call it.
    #[cfg_attr(not(feature = "live"), allow(dead_code))]
    fn render(&self, out: &mut [f32], channels: usize, rate: u32) {
        out.iter_mut().for_each(|s| *s = 0.0);
        if !self.playing.load(Ordering::Acquire) {
            return;
        }
        let Ok(guard) = self.buffer.try_lock() else {
            return;
        };
        let Some(buf) = guard.as_ref() else {
            return;
        };
        let step = f64::from(buf.sample_rate) / f64::from(rate.max(1));
        let mut pos = self.position();
        let mut written = 0u64;
        for frame in out.chunks_exact_mut(channels.max(1)) {
            if pos >= buf.frames() as f64 {
                self.playing.store(false, Ordering::Release);
                pos = 0.0;
                break;
            }
            for (c, s) in frame.iter_mut().enumerate() {
                *s = buf.sample_at(pos, c).unwrap_or(0.0);
            }
            pos += step;
            written += 1;
        }
        self.set_position(pos);
        self.frames_out.fetch_add(written, Ordering::AcqRel);
    }
}

/// An open output stream and what it plays.
pub struct Player {
    shared: Arc<Shared>,
    device: String,
    #[cfg(feature = "live")]
    _stream: cpal::Stream,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("device", &self.device)
            .finish()
    }
}

impl Player {
    /// Opens the output device named `device` (as [`output_devices`] lists it), or the
    /// system's default one.
    pub fn open(device: Option<&str>) -> Result<Player> {
        open_stream(device)
    }

    /// The device this player sends audio to.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Replaces what is played; playback stops at the start of the new buffer.
    pub fn load(&self, buffer: Arc<PlayBuffer>) {
        self.shared.playing.store(false, Ordering::Release);
        if let Ok(mut b) = self.shared.buffer.lock() {
            *b = Some(buffer);
        }
        self.shared.set_position(0.0);
    }

    fn rate(&self) -> f64 {
        self.shared
            .buffer
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(|b| f64::from(b.sample_rate.max(1))))
            .unwrap_or(1.0)
    }

    /// Starts (or continues) playing.
    pub fn play(&self) {
        self.shared.playing.store(true, Ordering::Release);
    }

    /// Pauses, keeping the position.
    pub fn pause(&self) {
        self.shared.playing.store(false, Ordering::Release);
    }

    /// Whether audio is playing.
    pub fn is_playing(&self) -> bool {
        self.shared.playing.load(Ordering::Acquire)
    }

    /// Moves the playhead to `seconds` from the start.
    pub fn seek(&self, seconds: f64) {
        self.shared.set_position(seconds.max(0.0) * self.rate());
    }

    /// The playhead in seconds.
    pub fn position_s(&self) -> f64 {
        self.shared.position() / self.rate()
    }

    /// Output frames the device has taken while playing, since the player opened.
    pub fn frames_played(&self) -> u64 {
        self.shared.frames_out.load(Ordering::Acquire)
    }

    /// The last error the stream reported (a device unplugged, an underrun), if any.
    pub fn take_error(&self) -> Option<String> {
        self.shared.error.lock().ok().and_then(|mut e| e.take())
    }
}

/// Names of the output devices of the default host.
#[cfg(feature = "live")]
pub fn output_devices() -> Vec<String> {
    use cpal::traits::{DeviceTrait, HostTrait};
    cpal::default_host()
        .output_devices()
        .map(|devs| {
            devs.filter_map(|d| d.description().ok().map(|n| n.name().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Names of the output devices (none: this build has no audio output).
#[cfg(not(feature = "live"))]
pub fn output_devices() -> Vec<String> {
    Vec::new()
}

#[cfg(not(feature = "live"))]
fn open_stream(_device: Option<&str>) -> Result<Player> {
    Err(Error::AudioOutput(
        "this build has no audio output (built without the `live` feature)".into(),
    ))
}

#[cfg(feature = "live")]
fn open_stream(wanted: Option<&str>) -> Result<Player> {
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    let host = cpal::default_host();
    let device = match wanted {
        Some(name) => host
            .output_devices()
            .map_err(|e| Error::AudioOutput(format!("cannot list output devices: {e}")))?
            .find(|d| d.description().is_ok_and(|n| n.name() == name))
            .ok_or_else(|| Error::AudioOutput(format!("output device `{name}` not found")))?,
        None => host
            .default_output_device()
            .ok_or_else(|| Error::AudioOutput("no audio output device".into()))?,
    };
    let name = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| "output".into());
    let supported = device
        .default_output_config()
        .map_err(|e| Error::AudioOutput(format!("{name}: {e}")))?;
    let config = supported.config();
    let channels = usize::from(config.channels);
    let rate = config.sample_rate;
    let shared = Arc::new(Shared::default());
    let on_error = {
        let shared = Arc::clone(&shared);
        move |e: cpal::Error| {
            if let Ok(mut slot) = shared.error.lock() {
                *slot = Some(e.to_string());
            }
        }
    };
    let stream = match supported.sample_format() {
        cpal::SampleFormat::I16 => {
            let shared = Arc::clone(&shared);
            let mut scratch = Vec::new();
            device.build_output_stream(
                config,
                move |out: &mut [i16], _: &cpal::OutputCallbackInfo| {
                    scratch.resize(out.len(), 0.0f32);
                    shared.render(&mut scratch, channels, rate);
                    for (o, s) in out.iter_mut().zip(&scratch) {
                        *o = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
                    }
                },
                on_error,
                None,
            )
        }
        _ => {
            let shared = Arc::clone(&shared);
            device.build_output_stream(
                config,
                move |out: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    shared.render(out, channels, rate);
                },
                on_error,
                None,
            )
        }
    }
    .map_err(|e| Error::AudioOutput(format!("{name}: {e}")))?;
    stream
        .play()
        .map_err(|e| Error::AudioOutput(format!("{name}: {e}")))?;
    Ok(Player {
        shared,
        device: name,
        _stream: stream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_resamples_linearly_and_stops_at_the_end() {
        // Mono ramp at 8 kHz played on a stereo 16 kHz device: every other output frame is
        // the midpoint of two input samples, on both channels.
        let shared = Shared::default();
        *shared.buffer.lock().unwrap() = Some(Arc::new(PlayBuffer {
            samples: vec![0.0, 0.2, 0.4, 0.6],
            channels: 1,
            sample_rate: 8000,
        }));
        let mut out = vec![9.0; 12];
        shared.render(&mut out, 2, 16_000);
        assert!(out.iter().all(|&s| s == 0.0), "paused renders silence");
        shared.playing.store(true, Ordering::Release);
        shared.render(&mut out, 2, 16_000);
        let want = [0.0, 0.0, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5];
        for (g, w) in out.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{out:?}");
        }
        assert!((shared.position() - 3.0).abs() < 1e-9);
        assert_eq!(shared.frames_out.load(Ordering::Acquire), 6);
        shared.render(&mut out, 2, 16_000);
        assert!(
            !shared.playing.load(Ordering::Acquire),
            "the end stops playback"
        );
        assert_eq!(&out[..4], &[0.6, 0.6, 0.6, 0.6]);
    }

    #[test]
    fn sample_at_wraps_channels_and_ends() {
        let b = PlayBuffer {
            samples: vec![1.0, -1.0, 0.0, 0.0],
            channels: 2,
            sample_rate: 10,
        };
        assert_eq!(b.frames(), 2);
        assert_eq!(b.sample_at(0.5, 0), Some(0.5));
        assert_eq!(b.sample_at(0.5, 3), Some(-0.5));
        assert_eq!(b.sample_at(2.0, 0), None);
        assert!((b.duration_s() - 0.2).abs() < 1e-12);
    }
}
