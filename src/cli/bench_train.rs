//! `earmark bench train`: training speed (updates/s and crops/s) per preset and batch size on
//! random crops, optionally beside PyTorch's f32 figures for the same update
//! (`shared/perf/torch_matpac_train.py`, run with `--torch PYTHON`).

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use earmark::train::{TrainConfig, TrainPreset, TrainState};

use super::bench_torch::{self, Case};

/// The reference script in the shared folder.
const TORCH_SCRIPT: &str = "torch_matpac_train.py";

/// Arguments of `earmark bench train`.
#[derive(Debug, clap::Args)]
pub struct TrainBenchArgs {
    /// Presets to measure.
    #[arg(long, value_delimiter = ',', default_value = "tiny,small,base")]
    pub presets: Vec<String>,
    /// Batch sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "8,32")]
    pub batches: Vec<usize>,
    /// Timed updates per case (after one warm-up update).
    #[arg(long, default_value_t = 3)]
    pub steps: u64,
    /// A Python interpreter with PyTorch: also runs the same cases through
    /// `shared/perf/torch_matpac_train.py` (f32, same threads) and prints both side by side.
    #[arg(long, value_name = "PYTHON")]
    pub torch: Option<PathBuf>,
    /// The PyTorch reference script (default: `shared/perf/torch_matpac_train.py` in the current
    /// folder or one above it).
    #[arg(long, value_name = "PATH", requires = "torch")]
    pub torch_script: Option<PathBuf>,
}

/// One measured case of Earmark.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    preset: String,
    batch: usize,
    seconds: f64,
}

/// Runs the benchmark and prints one line per case (and the comparison with `--torch`).
pub fn run(args: &TrainBenchArgs) -> anyhow::Result<()> {
    let device = Device::Cpu;
    let threads = rayon::current_num_threads();
    println!(
        "training speed on the CPU ({threads} threads), {} timed updates after one warm-up",
        args.steps
    );
    println!(
        "{:<8} {:>6} {:>12} {:>12} {:>12}",
        "preset", "batch", "s/update", "updates/s", "crops/s"
    );
    let mut measured = Vec::new();
    for name in &args.presets {
        let preset = TrainPreset::named(name)?;
        for &batch in &args.batches {
            let cfg = TrainConfig::new(preset.clone(), 1000, batch, 3e-4);
            let n_t = cfg.preset.encoder.n_t;
            let mut state = TrainState::new(cfg, &device)?;
            let crops = Tensor::randn(0f32, 1.0, (batch, 80, n_t), &device)?;
            state.train_step(&crops)?;
            let t0 = Instant::now();
            let mut parts = [0.0; 3];
            for _ in 0..args.steps {
                let s = state.train_step(&crops)?;
                for (p, x) in parts.iter_mut().zip(s.seconds) {
                    *p += x / args.steps.max(1) as f64;
                }
            }
            let per = t0.elapsed().as_secs_f64() / args.steps.max(1) as f64;
            println!(
                "{name:<8} {batch:>6} {per:>12.3} {:>12.3} {:>12.2}   forward {:.3} s, backward {:.3} s, updates {:.3} s",
                1.0 / per,
                batch as f64 / per,
                parts[0],
                parts[1],
                parts[2]
            );
            measured.push(Measured {
                preset: name.clone(),
                batch,
                seconds: per,
            });
        }
    }
    if let Some(python) = &args.torch {
        let list = |v: Vec<String>| v.join(",");
        let script_args = vec![
            "--presets".to_string(),
            list(args.presets.clone()),
            "--batches".to_string(),
            list(args.batches.iter().map(usize::to_string).collect()),
            "--steps".to_string(),
            args.steps.to_string(),
            "--threads".to_string(),
            threads.to_string(),
        ];
        println!();
        match bench_torch::run_script(
            python,
            args.torch_script.as_deref(),
            TORCH_SCRIPT,
            &script_args,
        ) {
            Ok(cases) => print!("{}", comparison(&measured, &cases, threads)),
            Err(why) => println!("{why}; Earmark's figures are above"),
        }
    }
    Ok(())
}

/// The side-by-side table of Earmark's and PyTorch's seconds per update; the ratio is
/// PyTorch's time over Earmark's (above 1: Earmark is faster).
fn comparison(measured: &[Measured], torch: &[Case], threads: usize) -> String {
    let mut out = format!(
        "{:<8} {:>6} {:>8} {:>14} {:>14} {:>8}\n",
        "preset", "batch", "threads", "Earmark s/upd", "PyTorch s/upd", "ratio"
    );
    for m in measured {
        let want = [
            ("preset", m.preset.clone()),
            ("batch", m.batch.to_string()),
            ("threads", threads.to_string()),
        ];
        let theirs = bench_torch::lookup(torch, &want, "s/update");
        let (t, ratio) = match theirs {
            Some(t) => (format!("{t:.3}"), format!("{:.2}", t / m.seconds)),
            None => ("—".to_string(), "—".to_string()),
        };
        out += &format!(
            "{:<8} {:>6} {:>8} {:>14.3} {:>14} {:>8}\n",
            m.preset, m.batch, threads, m.seconds, t, ratio
        );
    }
    out += "ratio = PyTorch f32 / Earmark (above 1: Earmark is faster)\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Vec<Measured> {
        vec![
            Measured {
                preset: "tiny".into(),
                batch: 8,
                seconds: 0.25,
            },
            Measured {
                preset: "small".into(),
                batch: 8,
                seconds: 1.0,
            },
        ]
    }

    #[test]
    fn the_table_pairs_cases_and_gives_the_ratio() {
        let printed = "# torch 2.5.1, f32, sdpa attention\n\
                       preset=tiny batch=8 threads=2 s/update=0.500\n\
                       preset=tiny batch=8 threads=1 s/update=0.900\n";
        let table = comparison(&measured(), &bench_torch::parse_cases(printed), 2);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[1].starts_with("tiny"), "{table}");
        assert!(
            lines[1].contains("0.250") && lines[1].contains("0.500"),
            "{table}"
        );
        assert!(lines[1].trim_end().ends_with("2.00"), "{table}");
        // No PyTorch figure for `small`: dashes, not a made-up ratio.
        assert!(
            lines[2].starts_with("small") && lines[2].contains('—'),
            "{table}"
        );
    }

    /// A stand-in interpreter: `-c import torch` succeeds (or fails when `torch` is false), and
    /// running the script prints fixed lines.
    #[cfg(unix)]
    fn fake_python(dir: &std::path::Path, torch: bool) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(if torch { "python-torch" } else { "python-bare" });
        let body = format!(
            "#!/bin/sh\nif [ \"$1\" = \"-c\" ]; then exit {}; fi\n\
             echo '# torch 9.9, f32'\n\
             echo 'preset=tiny batch=8 threads=2 s/update=0.125'\n",
            if torch { 0 } else { 1 }
        );
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[cfg(unix)]
    #[test]
    fn a_fake_interpreter_is_run_and_read_or_its_missing_torch_named() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join(TORCH_SCRIPT);
        std::fs::write(&script, "# stands in for the reference\n").unwrap();
        let with = fake_python(dir.path(), true);
        let cases = bench_torch::run_script(&with, Some(&script), TORCH_SCRIPT, &[]).unwrap();
        let table = comparison(&measured(), &cases, 2);
        assert!(table.lines().nth(1).unwrap().contains("0.125"), "{table}");
        let without = fake_python(dir.path(), false);
        let err = bench_torch::run_script(&without, Some(&script), TORCH_SCRIPT, &[]).unwrap_err();
        assert!(err.contains("no torch module"), "{err}");
    }
}
