//! The wgpu device Earmark computes on: adapter choice, limits, buffers and read-back.

use std::sync::mpsc;
use std::time::Duration;

use wgpu::util::DeviceExt;

use crate::stderr_filter::{filtered, gpu_noise};
use crate::{Error, Result};

/// How long a GPU submission may take before Earmark gives up on the device.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(120);

/// What to ask of the adapter; the defaults take the best one with its own limits.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Require at least this storage-binding size (bytes); an adapter with less is refused.
    /// Tests set it absurdly high to force the fallback path.
    pub min_storage_binding: Option<u64>,
    /// Refuse software adapters (lavapipe, llvmpipe): only hardware GPUs are used.
    pub reject_software: bool,
    /// Treat buffers larger than this (bytes) as too large for the device, below its own limit.
    /// Tests use it to force the out-of-memory path.
    pub max_buffer: Option<u64>,
}

/// A wgpu device and queue with the adapter's description.
pub struct GpuContext {
    /// The logical device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// What the adapter says it is.
    pub info: wgpu::AdapterInfo,
    /// The limits the device was created with.
    pub limits: wgpu::Limits,
    max_buffer: Option<u64>,
}

fn gpu_err(what: impl std::fmt::Display) -> Error {
    Error::Gpu(what.to_string())
}

impl GpuContext {
    /// Finds an adapter (high-performance preferred) and opens a device on it.
    pub fn new(options: &GpuOptions) -> Result<Self> {
        // Without a Wayland session, Mesa's Vulkan device-selection layer makes the Wayland
        // client library print "XDG_RUNTIME_DIR is invalid" while adapters are enumerated.
        let (_instance, adapter) = filtered(gpu_noise, || {
            let instance = wgpu::Instance::new(
                wgpu::InstanceDescriptor::new_without_display_handle_from_env(),
            );
            let adapter =
                pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    force_fallback_adapter: false,
                    compatible_surface: None,
                    apply_limit_buckets: false,
                }));
            (instance, adapter)
        });
        let adapter = adapter.map_err(|e| gpu_err(format!("no GPU adapter: {e}")))?;
        let info = adapter.get_info();
        if options.reject_software && info.device_type == wgpu::DeviceType::Cpu {
            return Err(gpu_err(format!("{} is a software adapter", info.name)));
        }
        let limits = adapter.limits();
        if let Some(min) = options.min_storage_binding
            && limits.max_storage_buffer_binding_size < min
        {
            return Err(gpu_err(format!(
                "{}: storage bindings of at most {} bytes (need {min})",
                info.name, limits.max_storage_buffer_binding_size
            )));
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("earmark"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| gpu_err(format!("{}: cannot open the device: {e}", info.name)))?;
        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            max_buffer: options.max_buffer,
        })
    }

    /// A one-line description: name, backend and type.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// Largest storage binding the device accepts, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
            .min(self.max_buffer.unwrap_or(u64::MAX))
    }

    /// A storage buffer holding `data`.
    pub fn upload(&self, label: &str, data: &[f32]) -> Result<wgpu::Buffer> {
        self.check_size(label, std::mem::size_of_val(data) as u64)?;
        // An empty binding is invalid: keep at least one value.
        let padded: &[f32] = if data.is_empty() { &[0.0] } else { data };
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(padded),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            }))
    }

    /// An uninitialised storage buffer of `len` floats.
    pub fn scratch(&self, label: &str, len: usize) -> Result<wgpu::Buffer> {
        let bytes = (len.max(1) * 4) as u64;
        self.check_size(label, bytes)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// A uniform buffer with the bytes of `params`.
    pub fn uniform<T: bytemuck::Pod>(&self, params: &T) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    fn check_size(&self, label: &str, bytes: u64) -> Result<()> {
        if bytes > self.max_binding() {
            return Err(gpu_err(format!(
                "{label}: {bytes} bytes exceed the device's largest buffer binding ({} bytes)",
                self.max_binding()
            )));
        }
        Ok(())
    }

    /// Submits `encoder`, then reads `len` floats of `buffer` back to the host.
    pub fn submit_and_read(
        &self,
        mut encoder: wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<f32>> {
        let bytes = (len * 4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        let index = self.queue.submit([encoder.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: Some(SUBMIT_TIMEOUT),
            })
            .map_err(|e| gpu_err(format!("the GPU did not finish: {e}")))?;
        rx.recv_timeout(SUBMIT_TIMEOUT)
            .map_err(|_| gpu_err("the GPU result never arrived"))?
            .map_err(|e| gpu_err(format!("cannot read the GPU result: {e}")))?;
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| gpu_err(format!("cannot map the GPU result: {e}")))?;
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        staging.unmap();
        Ok(out[..len].to_vec())
    }
}
