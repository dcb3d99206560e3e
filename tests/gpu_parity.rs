//! The wgpu encoder against the CPU encoder and the official fixtures, on whatever adapter wgpu
//! finds (in CI: Mesa's lavapipe software Vulkan, which `.ci/run` installs).
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use candle_core::{Device, Tensor};
use common::*;
use earmark::gpu::{GpuContext, GpuEncoder, GpuOptions};
use earmark::model::{Encoder, EncoderConfig};

const GPU_TOL: f32 = 1e-3;

fn gpu_for(enc: &Encoder) -> GpuEncoder {
    let ctx = GpuContext::new(&GpuOptions::default()).expect("a wgpu adapter (lavapipe in CI)");
    println!("adapter: {}", ctx.describe());
    GpuEncoder::new(ctx, &enc.host_weights().unwrap()).unwrap()
}

fn chunk(sig: &str, frames: usize) -> Tensor {
    first_chunk(sig, frames)
}

#[test]
fn tiny_model_matches_cpu_and_reference() {
    let enc = Encoder::load(&fixture("tiny.safetensors"), &Device::Cpu).unwrap();
    let gpu = gpu_for(&enc);
    for (sig, frames) in [("sig_1p3s", 128), ("sig_7p5s", 608), ("sig_13s", 608)] {
        let x = chunk(sig, frames);
        let cpu_layers = enc.forward(&x, true).unwrap();
        let gpu_layers = gpu.forward(&x, true).unwrap();
        assert_eq!(cpu_layers.len(), gpu_layers.len());
        for (c, g) in cpu_layers.iter().zip(&gpu_layers) {
            assert_eq!(c.dims(), g.dims());
            let err = assert_close(sig, &values(g), &values(c), GPU_TOL);
            println!("{sig}: GPU vs CPU layer max abs error {err:e}");
        }
        let reference = load(&format!("{sig}.safetensors"), "chunk0.layer_tokens");
        let stacked = Tensor::stack(&gpu_layers, 1).unwrap();
        assert_close(sig, &values(&stacked), &reference.data, GPU_TOL);
        let last = gpu.forward(&x, false).unwrap();
        assert_eq!(last.len(), 1);
        assert_close("last only", &values(&last[0]), &values(&gpu_layers[1]), 0.0);
    }
}

#[test]
fn vit_b_shaped_blocks_match_cpu() {
    let cfg = EncoderConfig {
        depth: 2,
        ..EncoderConfig::vit_base()
    };
    let enc = Encoder::random(&cfg, 7, &Device::Cpu).unwrap();
    let gpu = gpu_for(&enc);
    let a = chunk("sig_13s", 608);
    let b = chunk("sig_7p5s", 608);
    let x = Tensor::cat(&[&a, &b], 0).unwrap();
    let cpu_layers = enc.forward(&x, true).unwrap();
    let gpu_layers = gpu.forward(&x, true).unwrap();
    for (i, (c, g)) in cpu_layers.iter().zip(&gpu_layers).enumerate() {
        assert_eq!(g.dims(), [2, 191, 768]);
        let err = assert_close(&format!("ViT-B layer {i}"), &values(g), &values(c), GPU_TOL);
        println!("ViT-B layer {i}: GPU vs CPU max abs error {err:e}");
    }
}

#[test]
fn an_adapter_that_refuses_is_an_error() {
    let err = GpuContext::new(&GpuOptions {
        min_storage_binding: Some(u64::MAX),
        ..GpuOptions::default()
    })
    .err()
    .expect("no adapter offers u64::MAX bytes");
    assert!(err.to_string().contains("GPU"), "{err}");
}

#[test]
fn a_buffer_too_large_is_an_error_not_a_crash() {
    let enc = Encoder::load(&fixture("tiny.safetensors"), &Device::Cpu).unwrap();
    let ctx = GpuContext::new(&GpuOptions {
        max_buffer: Some(64 * 1024),
        ..GpuOptions::default()
    })
    .unwrap();
    let gpu = GpuEncoder::new(ctx, &enc.host_weights().unwrap()).unwrap();
    let err = gpu.forward(&chunk("sig_7p5s", 608), true).unwrap_err();
    assert!(err.to_string().contains("exceed"), "{err}");
}
