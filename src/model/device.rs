//! Choosing where the encoder runs: the CPU by default, CUDA or Metal when built with the
//! `cuda` / `metal` features (candle's devices are passed through unchanged).

use candle_core::Device;

use crate::error::{Error, Result};

/// A device request, as given on the command line (`cpu`, `wgpu`, `cuda`, `cuda:1`, `metal`,
/// `auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal (needs the `cuda` feature).
    Cuda(usize),
    /// A Metal GPU by ordinal (needs the `metal` feature).
    Metal(usize),
    /// Any GPU through Earmark's wgpu engine (Vulkan, Metal, DirectX 12), software ones included.
    Wgpu,
    /// The first GPU the build supports and the machine has, else the CPU.
    Auto,
}

impl std::str::FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (kind, idx) = match s.split_once(':') {
            Some((k, i)) => {
                let i = i
                    .parse()
                    .map_err(|_| Error::InvalidInput(format!("bad device ordinal in `{s}`")))?;
                (k, i)
            }
            None => (s, 0),
        };
        match kind {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(idx)),
            "metal" => Ok(DeviceChoice::Metal(idx)),
            "auto" => Ok(DeviceChoice::Auto),
            "wgpu" => Ok(DeviceChoice::Wgpu),
            _ => Err(Error::InvalidInput(format!(
                "unknown device `{s}` (cpu, wgpu, cuda[:N], metal[:N], auto)"
            ))),
        }
    }
}

/// Whether this build can drive CUDA devices.
pub const HAS_CUDA: bool = cfg!(feature = "cuda");
/// Whether this build can drive Metal devices.
pub const HAS_METAL: bool = cfg!(feature = "metal");

/// Opens the requested device. Asking for a GPU kind the build lacks is an error that names
/// the missing cargo feature.
pub fn open(choice: DeviceChoice) -> Result<Device> {
    let gpu = |e: candle_core::Error| Error::Model(format!("cannot open {choice:?}: {e}"));
    match choice {
        // The wgpu engine takes its input from the CPU.
        DeviceChoice::Cpu | DeviceChoice::Wgpu => Ok(Device::Cpu),
        DeviceChoice::Cuda(i) if HAS_CUDA => Device::new_cuda(i).map_err(gpu),
        DeviceChoice::Cuda(_) => Err(Error::InvalidInput(
            "this build has no CUDA support (rebuild with `--features cuda`)".into(),
        )),
        DeviceChoice::Metal(i) if HAS_METAL => Device::new_metal(i).map_err(gpu),
        DeviceChoice::Metal(_) => Err(Error::InvalidInput(
            "this build has no Metal support (rebuild with `--features metal`)".into(),
        )),
        DeviceChoice::Auto => {
            if HAS_CUDA && let Ok(d) = Device::new_cuda(0) {
                return Ok(d);
            }
            if HAS_METAL && let Ok(d) = Device::new_metal(0) {
                return Ok(d);
            }
            Ok(Device::Cpu)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!(
            "cuda:2".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(2)
        );
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!(open(DeviceChoice::Auto).is_ok());
    }
}
