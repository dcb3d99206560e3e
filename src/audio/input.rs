//! Audio capture from an input device through cpal, into a lock-free ring buffer.
//!
//! The device delivers blocks of interleaved samples in whatever format, rate and channel count
//! it offers. The audio callback converts each block to `f32` straight into a single-producer,
//! single-consumer ring ([`rtrb`]) and returns: it never allocates, locks or blocks. When the ring
//! is full the whole block is dropped and counted, so a stalled reader costs audio that is
//! reported, never a stalled device. The reader side ([`Capture::read_into`]) runs on the
//! analysis thread, which downmixes and resamples to 16 kHz there.
//!
//! Devices are chosen by name (as [`list_input_devices`] shows it) or by cpal id; `None` takes
//! the host's default input.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};
use rtrb::{Consumer, Producer, RingBuffer};

use crate::stderr_filter::{audio_noise, filtered};
use crate::{Error, Result};

/// An input device as the user sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputDeviceInfo {
    /// The device's name (what `--device` and the settings take).
    pub name: String,
    /// cpal's stable id (`host:device`), also accepted as a name.
    pub id: String,
    /// Whether this is the host's default input.
    pub is_default: bool,
    /// The format capture would use, or why the device cannot be opened now.
    pub format: std::result::Result<CaptureFormat, String>,
}

/// What the device delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureFormat {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels per frame.
    pub channels: u16,
    /// The device's sample format (`i16`, `f32`, …), converted to `f32` in the callback.
    pub sample_format: String,
}

impl std::fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} Hz, {} channel{}, {}",
            self.sample_rate,
            self.channels,
            if self.channels == 1 { "" } else { "s" },
            self.sample_format
        )
    }
}

/// Counters shared between the audio callback and the reader (atomics only).
#[derive(Debug, Default)]
struct Shared {
    frames: AtomicU64,
    callbacks: AtomicU64,
    dropped_blocks: AtomicU64,
    dropped_frames: AtomicU64,
    /// Device buffering latency of the last block (capture → callback), in microseconds.
    buffer_latency_us: AtomicU64,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
}

/// A snapshot of a capture's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Frames written into the ring.
    pub frames: u64,
    /// Callbacks received.
    pub callbacks: u64,
    /// Blocks dropped because the ring was full.
    pub dropped_blocks: u64,
    /// Frames in those blocks.
    pub dropped_frames: u64,
    /// Latest device buffering latency (capture instant to callback) in microseconds, 0 when the
    /// host does not report it.
    pub buffer_latency_us: u64,
}

/// The writing end, owned by the audio callback.
pub struct CaptureWriter {
    producer: Producer<f32>,
    channels: usize,
    shared: Arc<Shared>,
}

impl CaptureWriter {
    /// Converts one interleaved block to `f32` into the ring, or drops and counts it when the
    /// ring lacks room. Never allocates, locks or blocks.
    pub fn push_block<T>(&mut self, block: &[T])
    where
        T: Sample,
        f32: FromSample<T>,
    {
        let frames = (block.len() / self.channels.max(1)) as u64;
        self.shared.callbacks.fetch_add(1, Ordering::Relaxed);
        match self.producer.write_chunk_uninit(block.len()) {
            Ok(chunk) => {
                chunk.fill_from_iter(block.iter().map(|s| s.to_sample::<f32>()));
                self.shared.frames.fetch_add(frames, Ordering::Release);
            }
            Err(_) => {
                self.shared.dropped_blocks.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .dropped_frames
                    .fetch_add(frames, Ordering::Relaxed);
            }
        }
    }
}

/// The reading end of a capture ring, with the counters the writer updates.
pub struct CaptureReader {
    consumer: Consumer<f32>,
    shared: Arc<Shared>,
}

impl CaptureReader {
    /// Moves everything the ring holds to the end of `out`; returns the samples moved.
    pub fn read_into(&mut self, out: &mut Vec<f32>) -> usize {
        let n = self.consumer.slots();
        if n == 0 {
            return 0;
        }
        match self.consumer.read_chunk(n) {
            Ok(chunk) => {
                let (a, b) = chunk.as_slices();
                out.extend_from_slice(a);
                out.extend_from_slice(b);
                chunk.commit_all();
                n
            }
            Err(_) => 0,
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> CaptureCounters {
        let s = &self.shared;
        CaptureCounters {
            frames: s.frames.load(Ordering::Acquire),
            callbacks: s.callbacks.load(Ordering::Relaxed),
            dropped_blocks: s.dropped_blocks.load(Ordering::Relaxed),
            dropped_frames: s.dropped_frames.load(Ordering::Relaxed),
            buffer_latency_us: s.buffer_latency_us.load(Ordering::Relaxed),
        }
    }

    /// The error that ended the stream, once the device reported one.
    pub fn failure(&self) -> Option<String> {
        if !self.shared.failed.load(Ordering::Acquire) {
            return None;
        }
        let slot = self
            .shared
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(
            slot.clone()
                .unwrap_or_else(|| "the device stopped".to_string()),
        )
    }
}

/// A ring for `capacity` interleaved samples of `channels` channels.
pub fn capture_ring(capacity: usize, channels: usize) -> (CaptureWriter, CaptureReader) {
    let (producer, consumer) = RingBuffer::new(capacity.max(1));
    let shared = Arc::new(Shared::default());
    (
        CaptureWriter {
            producer,
            channels,
            shared: Arc::clone(&shared),
        },
        CaptureReader { consumer, shared },
    )
}

/// Lists the host's input devices with the format each would be captured in (what ALSA's
/// plugins and the JACK client print meanwhile is kept off the terminal).
pub fn list_input_devices() -> Result<Vec<InputDeviceInfo>> {
    filtered(audio_noise, input_devices)
}

fn input_devices() -> Result<Vec<InputDeviceInfo>> {
    let host = cpal::default_host();
    let default_id = host.default_input_device().and_then(|d| d.id().ok());
    let devices = host
        .input_devices()
        .map_err(|e| Error::NoInputDevice(format!("cannot list input devices: {e}")))?;
    Ok(devices
        .map(|device| {
            let id = device.id().ok();
            InputDeviceInfo {
                name: device_name(&device),
                is_default: id.is_some() && id == default_id,
                id: id.map(|i| i.to_string()).unwrap_or_default(),
                format: device
                    .default_input_config()
                    .map_err(|e| e.to_string())
                    .and_then(|c| capture_format(&c).map_err(|e| e.to_string())),
            }
        })
        .collect())
}

fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_string())
        .or_else(|_| device.id().map(|i| i.to_string()))
        .unwrap_or_else(|_| "unnamed device".to_string())
}

/// Finds the device named `name` (exact name, id or id without its host first, then a unique
/// case-insensitive part of a name), or the default input when `name` is `None`.
pub fn find_input_device(name: Option<&str>) -> Result<(cpal::Device, String)> {
    filtered(audio_noise, || find_device(name))
}

fn find_device(name: Option<&str>) -> Result<(cpal::Device, String)> {
    let host = cpal::default_host();
    let Some(wanted) = name else {
        let device = host.default_input_device().ok_or_else(|| {
            Error::NoInputDevice("this system has no default audio input".to_string())
        })?;
        let name = device_name(&device);
        return Ok((device, name));
    };
    let devices: Vec<(cpal::Device, String, String)> = host
        .input_devices()
        .map_err(|e| Error::NoInputDevice(format!("cannot list input devices: {e}")))?
        .map(|d| {
            let id = d.id().map(|i| i.to_string()).unwrap_or_default();
            let name = device_name(&d);
            (d, name, id)
        })
        .collect();
    if let Some(i) = devices
        .iter()
        .position(|(_, n, id)| n == wanted || id == wanted || bare_id(id) == wanted)
    {
        let (d, n, _) = devices.into_iter().nth(i).ok_or_else(|| no_match(wanted))?;
        return Ok((d, n));
    }
    let lower = wanted.to_lowercase();
    let mut partial: Vec<_> = devices
        .into_iter()
        .filter(|(_, n, _)| n.to_lowercase().contains(&lower))
        .collect();
    match partial.len() {
        1 => {
            let (d, n, _) = partial.remove(0);
            Ok((d, n))
        }
        0 => Err(no_match(wanted)),
        _ => Err(Error::NoInputDevice(format!(
            "`{wanted}` matches several input devices ({}); give the full name",
            partial
                .iter()
                .map(|(_, n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A cpal id without its host: `pulse` for `alsa:pulse`.
fn bare_id(id: &str) -> &str {
    id.split_once(':').map_or(id, |(_, bare)| bare)
}

fn no_match(wanted: &str) -> Error {
    Error::NoInputDevice(format!(
        "no input device named `{wanted}` (`earmark listen --list-devices` shows them)"
    ))
}

fn capture_format(config: &cpal::SupportedStreamConfig) -> Result<CaptureFormat> {
    let format = config.sample_format();
    if !is_supported(format) {
        return Err(Error::UnsupportedInputFormat(format!(
            "the device delivers {format} samples"
        )));
    }
    if config.channels() == 0 || config.sample_rate() == 0 {
        return Err(Error::UnsupportedInputFormat(format!(
            "{} channels at {} Hz",
            config.channels(),
            config.sample_rate()
        )));
    }
    Ok(CaptureFormat {
        sample_rate: config.sample_rate(),
        channels: config.channels(),
        sample_format: format.to_string(),
    })
}

fn is_supported(format: SampleFormat) -> bool {
    use SampleFormat as F;
    matches!(
        format,
        F::I8 | F::I16 | F::I24 | F::I32 | F::I64 | F::U8 | F::U16 | F::U24 | F::U32 | F::U64
    ) || matches!(format, F::F32 | F::F64)
}

/// A running capture: the cpal stream and the reading end of its ring.
pub struct Capture {
    _stream: cpal::Stream,
    reader: CaptureReader,
    format: CaptureFormat,
    device_name: String,
}

impl Capture {
    /// Opens `device` (by name, `None`: the default input) in its default configuration and
    /// starts capturing into a ring holding `ring_seconds` of audio.
    ///
    /// `block_s` asks the host for blocks of that many seconds (smaller: lower latency, more
    /// wake-ups; ALSA's PulseAudio plugin busy-polls with small blocks); a size the device
    /// refuses, or `None`, takes the host's default.
    pub fn open(device: Option<&str>, ring_seconds: f32, block_s: Option<f32>) -> Result<Capture> {
        let (device, name) = find_input_device(device)?;
        let config = device
            .default_input_config()
            .map_err(|e| unavailable(&name, &e))?;
        let format = capture_format(&config)?;
        let channels = usize::from(format.channels);
        let capacity =
            (ring_seconds.max(0.1) * format.sample_rate as f32) as usize * channels.max(1);
        let start = |buffer: cpal::BufferSize| {
            let (writer, reader) = capture_ring(capacity, channels);
            let mut stream_config = config.config();
            stream_config.buffer_size = buffer;
            let stream = build_stream(
                &device,
                stream_config,
                config.sample_format(),
                writer,
                Arc::clone(&reader.shared),
            )?;
            Ok::<_, cpal::Error>((stream, reader))
        };
        let block_frames = block_s
            .filter(|s| *s > 0.0)
            .map(|s| ((s * format.sample_rate as f32).round() as u32).max(1));
        let (stream, reader) = match block_frames {
            Some(n) => {
                start(cpal::BufferSize::Fixed(n)).or_else(|_| start(cpal::BufferSize::Default))
            }
            None => start(cpal::BufferSize::Default),
        }
        .map_err(|e| unavailable(&name, &e))?;
        stream.play().map_err(|e| unavailable(&name, &e))?;
        Ok(Capture {
            _stream: stream,
            reader,
            format,
            device_name: name,
        })
    }

    /// The format the device delivers.
    pub fn format(&self) -> &CaptureFormat {
        &self.format
    }

    /// The device's name.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Moves the interleaved `f32` samples captured so far to the end of `out`.
    pub fn read_into(&mut self, out: &mut Vec<f32>) -> usize {
        self.reader.read_into(out)
    }

    /// The counters so far.
    pub fn counters(&self) -> CaptureCounters {
        self.reader.counters()
    }

    /// The error that ended the stream, once the device reported one.
    pub fn failure(&self) -> Option<String> {
        self.reader.failure()
    }
}

fn unavailable(name: &str, e: &cpal::Error) -> Error {
    let hint = match e.kind() {
        cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable => {
            " (is the sound server running and the device connected?)"
        }
        cpal::ErrorKind::PermissionDenied => " (the system refused access to the microphone)",
        cpal::ErrorKind::DeviceBusy => " (another program holds it)",
        _ => "",
    };
    match e.kind() {
        cpal::ErrorKind::UnsupportedConfig => Error::UnsupportedInputFormat(format!("{name}: {e}")),
        _ => Error::InputDevice(format!("{name}: {e}{hint}")),
    }
}

fn build_stream(
    device: &cpal::Device,
    cfg: cpal::StreamConfig,
    format: SampleFormat,
    writer: CaptureWriter,
    shared: Arc<Shared>,
) -> std::result::Result<cpal::Stream, cpal::Error> {
    use SampleFormat as F;
    use cpal::{I24, U24};
    match format {
        F::I8 => typed::<i8>(device, cfg, writer, shared),
        F::I16 => typed::<i16>(device, cfg, writer, shared),
        F::I24 => typed::<I24>(device, cfg, writer, shared),
        F::I32 => typed::<i32>(device, cfg, writer, shared),
        F::I64 => typed::<i64>(device, cfg, writer, shared),
        F::U8 => typed::<u8>(device, cfg, writer, shared),
        F::U16 => typed::<u16>(device, cfg, writer, shared),
        F::U24 => typed::<U24>(device, cfg, writer, shared),
        F::U32 => typed::<u32>(device, cfg, writer, shared),
        F::U64 => typed::<u64>(device, cfg, writer, shared),
        F::F32 => typed::<f32>(device, cfg, writer, shared),
        F::F64 => typed::<f64>(device, cfg, writer, shared),
        _ => Err(cpal::Error::new(cpal::ErrorKind::UnsupportedConfig)),
    }
}

fn typed<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut writer: CaptureWriter,
    shared: Arc<Shared>,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let latency = Arc::clone(&writer.shared);
    device.build_input_stream::<T, _, _>(
        config,
        move |block: &[T], info: &cpal::InputCallbackInfo| {
            let ts = info.timestamp();
            if let Some(d) = ts.callback.checked_duration_since(ts.capture) {
                let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
                latency.buffer_latency_us.store(us, Ordering::Relaxed);
            }
            writer.push_block(block);
        },
        move |error: cpal::Error| record_error(&shared, &error),
        None,
    )
}

/// Keeps the first fatal stream error. Overruns are not fatal: the host restarts the stream.
fn record_error(shared: &Shared, error: &cpal::Error) {
    if error.kind() == cpal::ErrorKind::Xrun || error.kind() == cpal::ErrorKind::RealtimeDenied {
        return;
    }
    if shared.failed.load(Ordering::Acquire) {
        return;
    }
    if let Ok(mut slot) = shared.failure.try_lock() {
        *slot = Some(error.to_string());
    }
    shared.failed.store(true, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_that_cannot_be_captured_give_a_clear_error() {
        let config = |channels, rate, format| {
            cpal::SupportedStreamConfig::new(
                channels,
                rate,
                cpal::SupportedBufferSize::Unknown,
                format,
            )
        };
        let ok = capture_format(&config(2, 48_000, SampleFormat::F32)).unwrap();
        assert_eq!((ok.sample_rate, ok.channels), (48_000, 2));
        assert_eq!(ok.sample_format, "f32");
        for (cfg, says) in [
            (config(2, 2_822_400, SampleFormat::DsdU8), "delivers"),
            (config(0, 48_000, SampleFormat::I16), "0 channels"),
            (config(1, 0, SampleFormat::I16), "at 0 Hz"),
        ] {
            let e = capture_format(&cfg).unwrap_err();
            assert!(matches!(e, Error::UnsupportedInputFormat(_)), "{e:?}");
            let text = e.to_string();
            assert!(
                text.starts_with("input format not supported") && text.contains(says),
                "{text}"
            );
        }
    }

    #[test]
    fn integer_blocks_arrive_as_full_scale_floats() {
        let (mut w, mut r) = capture_ring(16, 2);
        w.push_block::<i16>(&[0, i16::MIN, 16_384, -16_384]);
        w.push_block::<u8>(&[128, 0]);
        let mut out = Vec::new();
        assert_eq!(r.read_into(&mut out), 6);
        assert_eq!(out, [0.0, -1.0, 0.5, -0.5, 0.0, -1.0]);
        let c = r.counters();
        assert_eq!((c.frames, c.callbacks, c.dropped_blocks), (3, 2, 0));
    }

    #[test]
    fn a_full_ring_drops_whole_blocks_and_counts_them() {
        let (mut w, mut r) = capture_ring(8, 1);
        w.push_block::<f32>(&[0.1; 6]);
        w.push_block::<f32>(&[0.2; 4]); // 2 slots left: dropped whole
        w.push_block::<f32>(&[0.3; 2]); // fits exactly
        let mut out = Vec::new();
        r.read_into(&mut out);
        assert_eq!(out.len(), 8);
        assert!(out[6..].iter().all(|&v| v == 0.3));
        let c = r.counters();
        assert_eq!((c.frames, c.dropped_blocks, c.dropped_frames), (8, 1, 4));
        // Reading freed the ring: the next block fits again.
        w.push_block::<f32>(&[0.4; 4]);
        out.clear();
        assert_eq!(r.read_into(&mut out), 4);
    }

    #[test]
    fn the_first_fatal_error_is_kept_and_overruns_are_ignored() {
        let (_w, r) = capture_ring(8, 1);
        assert_eq!(r.failure(), None);
        record_error(&r.shared, &cpal::Error::new(cpal::ErrorKind::Xrun));
        assert_eq!(r.failure(), None);
        record_error(
            &r.shared,
            &cpal::Error::new(cpal::ErrorKind::DeviceNotAvailable),
        );
        record_error(&r.shared, &cpal::Error::new(cpal::ErrorKind::BackendError));
        let msg = r.failure().unwrap();
        assert!(msg.contains("not available"), "{msg}");
    }
}
