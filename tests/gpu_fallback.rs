//! Forced GPU failures fall back to the CPU with a notice, and lose no result.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use candle_core::Tensor;
use common::*;
use earmark::engine::Engine;
use earmark::gpu::GpuOptions;
use earmark::model::chunk::ChunkEncoder;
use earmark::model::device::DeviceChoice;

fn chunk() -> Tensor {
    first_chunk("sig_7p5s", 608)
}

#[test]
fn an_adapter_that_refuses_leaves_the_engine_on_the_cpu_with_a_notice() {
    let options = GpuOptions {
        min_storage_binding: Some(u64::MAX),
        ..GpuOptions::default()
    };
    let engine =
        Engine::load_with(&fixture("tiny.safetensors"), DeviceChoice::Wgpu, &options).unwrap();
    assert!(!engine.on_gpu());
    assert_eq!(engine.device_name(), "CPU");
    let notices = engine.take_notices();
    assert!(notices.iter().any(|n| n.contains("CPU")), "{notices:?}");
    let layers = engine.forward_chunks(&chunk(), true).unwrap();
    let reference = load("sig_7p5s.safetensors", "chunk0.layer_tokens");
    assert_close(
        "cpu",
        &values(&Tensor::stack(&layers, 1).unwrap()),
        &reference.data,
        TOL,
    );
}

#[test]
fn a_buffer_too_large_mid_run_switches_to_the_cpu_and_keeps_the_result() {
    let options = GpuOptions {
        max_buffer: Some(64 * 1024),
        ..GpuOptions::default()
    };
    let engine =
        Engine::load_with(&fixture("tiny.safetensors"), DeviceChoice::Wgpu, &options).unwrap();
    assert!(
        engine.on_gpu(),
        "the weights fit: the engine starts on the GPU"
    );
    assert!(
        engine.device_name().starts_with("wgpu"),
        "{}",
        engine.device_name()
    );
    let layers = engine.forward_chunks(&chunk(), true).unwrap();
    assert!(!engine.on_gpu());
    assert_eq!(engine.device_name(), "CPU");
    let notices = engine.take_notices();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("exceed") && n.contains("switched to the CPU")),
        "{notices:?}"
    );
    let reference = load("sig_7p5s.safetensors", "chunk0.layer_tokens");
    assert_close(
        "after fallback",
        &values(&Tensor::stack(&layers, 1).unwrap()),
        &reference.data,
        TOL,
    );
}

#[test]
fn the_wgpu_engine_gives_the_reference_numbers() {
    let engine = Engine::load(&fixture("tiny.safetensors"), DeviceChoice::Wgpu).unwrap();
    assert!(
        engine.on_gpu(),
        "lavapipe (or a real GPU) must be available: {:?}",
        engine.take_notices()
    );
    let layers = engine.forward_chunks(&chunk(), true).unwrap();
    let reference = load("sig_7p5s.safetensors", "chunk0.layer_tokens");
    assert_close(
        "wgpu",
        &values(&Tensor::stack(&layers, 1).unwrap()),
        &reference.data,
        1e-3,
    );
    assert!(engine.take_notices().is_empty());
}
