//! The wgpu half of `earmark bench encoder --device wgpu`: ViT-B chunks per second on the GPU,
//! printed beside the CPU figures.

use std::time::Instant;

use candle_core::{Device, Tensor};
use earmark::gpu::{GpuContext, GpuEncoder, GpuOptions};
use earmark::model::{Encoder, EncoderConfig};

/// Measures the wgpu encoder at each batch size, with the CPU encoder (all threads, batch 1,
/// same process) as the reference for the ratio. An error when no adapter can be opened.
pub fn run(batches: &[usize], iters: usize) -> anyhow::Result<()> {
    let cfg = EncoderConfig::vit_base();
    let cpu = Encoder::random(&cfg, 0x5eed, &Device::Cpu)?;
    let one = Tensor::from_vec(
        (0..80 * 608)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
            .collect::<Vec<f32>>(),
        (1, 80, 608),
        &Device::Cpu,
    )?;
    cpu.forward(&one, false)?;
    let mut cpu_best = f64::MAX;
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        cpu.forward(&one, false)?;
        cpu_best = cpu_best.min(t.elapsed().as_secs_f64());
    }
    println!("\nCPU reference in this process (all threads, batch 1): {cpu_best:.3} s/chunk");
    let cpu_s_per_chunk = Some(cpu_best);
    let ctx = GpuContext::new(&GpuOptions::default())?;
    println!("wgpu adapter: {}", ctx.describe());
    let gpu = GpuEncoder::new(ctx, &cpu.host_weights()?)?;
    println!(
        "{:>7} {:>10} {:>10} {:>10} {:>12}",
        "batch", "s/batch", "s/chunk", "chunks/s", "vs CPU"
    );
    for &batch in batches {
        let values: Vec<f32> = (0..batch * 80 * 608)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
            .collect();
        let x = Tensor::from_vec(values, (batch, 80, 608), &Device::Cpu)?;
        gpu.forward(&x, false)?; // warm-up: pipelines, allocations
        let mut best = f64::MAX;
        for _ in 0..iters.max(1) {
            let t = Instant::now();
            gpu.forward(&x, false)?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        let per_chunk = best / batch as f64;
        let ratio = cpu_s_per_chunk.map_or("-".to_string(), |c| format!("{:.1}×", c / per_chunk));
        println!(
            "{batch:>7} {best:>10.3} {per_chunk:>10.3} {:>10.1} {ratio:>12}",
            1.0 / per_chunk
        );
    }
    println!(
        "(on a software adapter such as lavapipe only correctness counts; goal on a real GPU: ≥ 10× the CPU)"
    );
    Ok(())
}
