#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The hand-written CPU training path against candle's autograd graph (which
//! `tests/train_parity.rs` checks against the reference): the same loss and gradients for every
//! tensor, and the same updates, statistics, teacher and centre over several steps.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use earmark::model::EncoderConfig;
use earmark::train::cls_head::HeadConfig;
use earmark::train::decoder::DecoderConfig;
use earmark::train::{TrainConfig, TrainPreset, TrainState};

/// A small model with several heads per layer and widths that are not powers of two.
fn micro() -> TrainPreset {
    TrainPreset {
        name: "micro".into(),
        encoder: EncoderConfig {
            embed_dim: 48,
            depth: 2,
            num_heads: 3,
            mlp_hidden_dim: 72,
            ..EncoderConfig::vit_base()
        },
        decoder: DecoderConfig {
            dim: 24,
            depth: 2,
            num_heads: 2,
            mlp_hidden_dim: 40,
            prediction_heads: 1,
        },
        head: HeadConfig {
            hidden: 40,
            bottleneck: 12,
            outputs: 20,
        },
    }
}

fn state() -> TrainState {
    let cfg = TrainConfig::new(micro(), 50, 3, 2e-3);
    TrainState::new(cfg, &Device::Cpu).unwrap()
}

/// Deterministic log-mel-like crops `[3, 80, 608]`, different per step.
fn crops(step: u64) -> Tensor {
    let n = 3 * 80 * 608;
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let x = i as f64 * 0.013 + step as f64 * 1.7;
            ((x.sin() * 3.1 + (x * 0.37).cos() * 1.3) * 0.7) as f32
        })
        .collect();
    Tensor::from_vec(v, (3, 80, 608), &Device::Cpu).unwrap()
}

fn assert_grads_close(fast: &BTreeMap<String, Vec<f32>>, graph: &BTreeMap<String, Vec<f32>>) {
    assert_eq!(
        fast.keys().collect::<Vec<_>>(),
        graph.keys().collect::<Vec<_>>(),
        "the same tensors get gradients"
    );
    for (name, want) in graph {
        let got = &fast[name];
        assert_eq!(got.len(), want.len(), "{name}");
        let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let worst = got
            .iter()
            .zip(want)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            worst <= 2e-3 * scale + 1e-7,
            "{name}: gradients differ by {worst} (largest {scale})"
        );
    }
}

fn values(state: &TrainState) -> Vec<(String, Vec<f32>)> {
    let student = state.params.iter().map(|(k, v)| {
        (
            k.clone(),
            v.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
        )
    });
    let teacher = state
        .teacher
        .iter()
        .map(|(k, t)| (k.clone(), t.flatten_all().unwrap().to_vec1().unwrap()));
    student.chain(teacher).collect()
}

#[test]
fn fast_gradients_equal_the_graph_gradients() {
    let mut st = state();
    assert!(st.uses_fast_path());
    for step in 0..3 {
        let x = crops(step);
        let (loss_fast, fast) = st.gradients(&x, 7 + step, true).unwrap();
        let (loss_graph, graph) = st.gradients(&x, 7 + step, false).unwrap();
        assert!(
            (loss_fast - loss_graph).abs() <= 1e-5 * loss_graph.abs(),
            "step {step}: loss {loss_fast} vs {loss_graph}"
        );
        assert_grads_close(&fast, &graph);
        // Move on (through the graph) so that later checks see trained weights, a moved
        // teacher and a centre with a pending update.
        st.train_step_graph(&x).unwrap();
    }
}

#[test]
fn fast_updates_follow_the_graph_updates() {
    let (mut fast, mut graph) = (state(), state());
    for step in 0..4 {
        let x = crops(step);
        let a = fast.train_step_fast(&x).unwrap();
        let b = graph.train_step_graph(&x).unwrap();
        assert_eq!(a.step, b.step);
        for (what, p, q) in [
            ("loss", a.loss, b.loss),
            ("prediction loss", a.loss_pred, b.loss_pred),
            ("classification loss", a.loss_cls, b.loss_cls),
            ("gradient norm", a.grad_norm, b.grad_norm),
            ("perplexity", a.teacher_perplexity, b.teacher_perplexity),
        ] {
            assert!(
                (p - q).abs() <= 1e-4 * q.abs().max(1e-3),
                "step {step} {what}: {p} vs {q}"
            );
        }
        assert_eq!((a.lr, a.ema_decay), (b.lr, b.ema_decay));
    }
    assert_eq!(fast.step, graph.step);
    assert_eq!(fast.adam.t, graph.adam.t);
    for ((name, p), (_, q)) in values(&fast).iter().zip(values(&graph).iter()) {
        let worst = p
            .iter()
            .zip(q)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-4, "{name} differs by {worst} after 4 updates");
    }
    for (c, d) in fast.centre.value.iter().zip(&graph.centre.value) {
        assert!((c - d).abs() < 1e-5, "centre {c} vs {d}");
    }
}
