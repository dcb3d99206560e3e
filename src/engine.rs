//! The encoder on the device the user chose, with a fallback to the CPU that loses nothing.
//!
//! `auto` takes CUDA or Metal when the build has them and the machine offers one, else a wgpu
//! hardware adapter (Vulkan, Metal, DirectX 12), else the CPU. Any GPU failure — no adapter, a
//! lost device, a buffer larger than the device allows — switches the engine to the CPU for good,
//! recomputes the batch there and leaves a notice for the user interface to show.

use std::path::Path;
use std::sync::Mutex;

use candle_core::{Device, Tensor};

use crate::Result;
use crate::gpu::{GpuContext, GpuEncoder, GpuOptions};
use crate::model::chunk::ChunkEncoder;
use crate::model::device::{self, DeviceChoice};
use crate::model::lowp::{self, Precision};
use crate::model::{Encoder, EncoderConfig};

/// An encoder bound to a device, with its CPU fallback.
pub struct Engine {
    /// The candle encoder: on CUDA or Metal when chosen, else on the CPU.
    main: Encoder,
    /// A CPU copy when `main` or the wgpu engine is on a GPU, for the fallback.
    cpu: Option<Encoder>,
    /// Set once a GPU failed: everything runs on the CPU from then on.
    degraded: Mutex<bool>,
    gpu: Mutex<Option<GpuEncoder>>,
    device_name: Mutex<String>,
    notices: Mutex<Vec<String>>,
}

impl Engine {
    /// Loads the model at `path` for `choice`. A GPU that cannot be set up is reported as a
    /// notice and the CPU is used; only an unreadable model is an error.
    pub fn load(path: &Path, choice: DeviceChoice) -> Result<Self> {
        Self::load_with(path, choice, &GpuOptions::default())
    }

    /// [`Engine::load`] with explicit wgpu options (tests force failures through them).
    pub fn load_with(path: &Path, choice: DeviceChoice, gpu_options: &GpuOptions) -> Result<Self> {
        let mut notices = Vec::new();
        let candle_device = match choice {
            DeviceChoice::Cuda(_) | DeviceChoice::Metal(_) => device::open(choice)?,
            DeviceChoice::Auto => device::open(DeviceChoice::Auto)?,
            _ => Device::Cpu,
        };
        let on_candle_gpu = !candle_device.is_cpu();
        let mut encoder = Encoder::load(path, &candle_device)?;
        let want_wgpu = match choice {
            DeviceChoice::Wgpu => true,
            DeviceChoice::Auto => !on_candle_gpu,
            _ => false,
        };
        let mut gpu = None;
        let mut name = match choice {
            DeviceChoice::Cuda(i) => format!("CUDA {i}"),
            DeviceChoice::Metal(i) => format!("Metal {i}"),
            _ if on_candle_gpu => "GPU (candle)".to_string(),
            _ => "CPU".to_string(),
        };
        if want_wgpu {
            let options = GpuOptions {
                // `auto` only takes real GPUs; an explicit `wgpu` accepts software adapters too.
                reject_software: choice == DeviceChoice::Auto,
                ..gpu_options.clone()
            };
            match GpuContext::new(&options)
                .and_then(|ctx| GpuEncoder::new(ctx, &encoder.host_weights()?))
            {
                Ok(g) => {
                    name = format!("wgpu: {}", g.context().describe());
                    gpu = Some(g);
                }
                // No usable GPU: for `auto` the CPU is the expected answer, not news.
                Err(_) if choice == DeviceChoice::Auto => {}
                Err(e) => notices.push(format!("{e}; running on the CPU instead")),
            }
        }
        let mut cpu = if on_candle_gpu {
            Some(Encoder::load(path, &Device::Cpu)?)
        } else {
            None
        };
        let cpu_encoder = cpu.as_mut().unwrap_or(&mut encoder);
        let requested = lowp::default_request();
        if let Err(e) = cpu_encoder.set_precision(requested) {
            let used = cpu_encoder.set_precision(Precision::Auto)?;
            notices.push(format!("{e}; running in {used} instead"));
        }
        Ok(Engine {
            main: encoder,
            cpu,
            degraded: Mutex::new(false),
            gpu: Mutex::new(gpu),
            device_name: Mutex::new(name),
            notices: Mutex::new(notices),
        })
    }

    /// An engine around an encoder already loaded (on the CPU, or on a candle GPU device without
    /// a CPU fallback).
    pub fn from_encoder(encoder: Encoder) -> Self {
        let name = if encoder.device().is_cpu() {
            "CPU"
        } else {
            "GPU (candle)"
        };
        Engine {
            main: encoder,
            cpu: None,
            degraded: Mutex::new(false),
            gpu: Mutex::new(None),
            device_name: Mutex::new(name.to_string()),
            notices: Mutex::new(Vec::new()),
        }
    }

    /// Where the encoder runs now, e.g. `CPU` or `wgpu: NVIDIA … (Vulkan, DiscreteGpu)`.
    pub fn device_name(&self) -> String {
        self.device_name
            .lock()
            .map(|n| n.clone())
            .unwrap_or_default()
    }

    /// Whether a GPU (wgpu, CUDA or Metal) is in use.
    pub fn on_gpu(&self) -> bool {
        let wgpu = self.gpu.lock().map(|g| g.is_some()).unwrap_or(false);
        !self.degraded() && (wgpu || !self.main.device().is_cpu())
    }

    /// Notices for the user (GPU failures and fallbacks) since the last call.
    pub fn take_notices(&self) -> Vec<String> {
        self.notices
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }

    /// The precision of the CPU encoder's matrix products (never `auto`).
    pub fn precision(&self) -> Precision {
        self.cpu_encoder().precision()
    }

    /// The encoder's hyper-parameters.
    pub fn config(&self) -> &EncoderConfig {
        self.main.config()
    }

    /// The encoder that runs on the CPU (always present).
    pub fn cpu_encoder(&self) -> &Encoder {
        self.cpu.as_ref().unwrap_or(&self.main)
    }

    fn degraded(&self) -> bool {
        self.degraded.lock().map(|d| *d).unwrap_or(true)
    }

    fn fall_back(&self, error: &crate::Error) {
        if let Ok(mut d) = self.degraded.lock() {
            *d = true;
        }
        if let Ok(mut gpu) = self.gpu.lock() {
            *gpu = None;
        }
        if let Ok(mut name) = self.device_name.lock() {
            *name = "CPU".to_string();
        }
        if let Ok(mut notices) = self.notices.lock() {
            notices.push(format!("{error}; switched to the CPU (no result was lost)"));
        }
    }
}

impl ChunkEncoder for Engine {
    fn config(&self) -> &EncoderConfig {
        self.main.config()
    }

    fn input_device(&self) -> &Device {
        if self.degraded() {
            &Device::Cpu
        } else {
            self.main.device()
        }
    }

    fn forward_chunks(&self, x: &Tensor, all_layers: bool) -> Result<Vec<Tensor>> {
        let on_cpu = |x: &Tensor| -> Result<Vec<Tensor>> {
            self.cpu_encoder()
                .forward(&x.to_device(&Device::Cpu)?, all_layers)
        };
        if self.degraded() {
            return on_cpu(x);
        }
        let wgpu_attempt = match self.gpu.lock() {
            Ok(gpu) => gpu.as_ref().map(|g| g.forward(x, all_layers)),
            Err(_) => None,
        };
        let attempt = match wgpu_attempt {
            Some(result) => result,
            None => self
                .main
                .forward(&x.to_device(self.main.device())?, all_layers),
        };
        match attempt {
            Ok(layers) => Ok(layers),
            Err(e) if self.on_gpu() => {
                self.fall_back(&e);
                on_cpu(x)
            }
            Err(e) => Err(e),
        }
    }
}
