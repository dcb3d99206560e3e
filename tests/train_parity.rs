#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The trainer's pieces against `training_losses.safetensors`, computed by the official training
//! code: prediction and MATPAC++ losses, classification heads, centre, schedules, masking and the
//! predictor; and the differentiable encoder against the inference fixtures.

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{assert_close, fixture, load, load_f64};
use earmark::train::cls_head::{Centre, ClsHead, HeadConfig};
use earmark::train::decoder::{Decoder, DecoderConfig};
use earmark::train::layers::gather_rows;
use earmark::train::losses::{
    classification_loss, multiple_choice_loss, prediction_loss, select_heads,
};
use earmark::train::masking::Masking;
use earmark::train::schedule::Schedules;
use earmark::train::vit::{BlockStack, PatchEmbed};

const FILE: &str = "training_losses.safetensors";
const TOL: f32 = 1e-4;

fn t(name: &str) -> Tensor {
    let r = load(FILE, name);
    Tensor::from_vec(r.data, r.shape, &Device::Cpu).unwrap()
}

fn vals(x: &Tensor) -> Vec<f32> {
    x.flatten_all()
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Every F32 tensor of `file` whose name starts with `prefix`, prefix removed.
fn with_prefix(file: &str, prefix: &str) -> HashMap<String, Tensor> {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.names()
        .into_iter()
        .filter_map(|n| {
            n.strip_prefix(prefix)
                .map(|k| (k.to_string(), n.to_string()))
        })
        .map(|(k, n)| {
            let r = load(file, &n);
            (k, Tensor::from_vec(r.data, r.shape, &Device::Cpu).unwrap())
        })
        .collect()
}

#[test]
fn prediction_loss_matches() {
    let got = prediction_loss(&t("pred.pred"), &t("pred.target")).unwrap();
    assert_close("pred.loss", &vals(&got), &load(FILE, "pred.loss").data, TOL);
}

#[test]
fn multiple_choice_losses_match_in_soft_and_hard_regimes() {
    let s = Schedules::official();
    for tag in ["soft", "hard"] {
        let step = load_f64(FILE, &format!("mcl.{tag}.step"))[0] as u64;
        let temp = load_f64(FILE, &format!("mcl.{tag}.temperature"))[0];
        assert!((s.mcl_temperature(step) - temp).abs() <= 1e-12 * temp.max(1e-30) + 1e-15);
        let got = multiple_choice_loss(&t("mcl.pred"), &t("pred.target"), temp).unwrap();
        assert_close(
            &format!("mcl.{tag}.loss"),
            &vals(&got.loss),
            &load(FILE, &format!("mcl.{tag}.loss")).data,
            TOL,
        );
        assert_eq!(
            vals(&got.best),
            load(FILE, &format!("mcl.{tag}.best_idx")).data,
            "{tag} best heads"
        );
        if tag == "soft" {
            let best = select_heads(&t("mcl.pred"), &got.best).unwrap();
            assert_close(
                "mcl.best_pred",
                &vals(&best),
                &load(FILE, "mcl.best_pred").data,
                0.0,
            );
        }
    }
}

fn head(prefix: &str) -> ClsHead {
    let vb = VarBuilder::from_tensors(with_prefix(FILE, prefix), DType::F32, &Device::Cpu);
    let cfg = HeadConfig {
        hidden: 16,
        bottleneck: 4,
        outputs: 12,
    };
    ClsHead::new(&vb, 8, &cfg).unwrap()
}

#[test]
fn classification_heads_centre_and_loss_match_over_two_steps() {
    let student = head("cls.student_head.");
    let teacher = head("cls.teacher_head.");
    let s_logits = student.forward(&t("cls.student_in")).unwrap();
    let t_logits = teacher.forward(&t("cls.teacher_in")).unwrap();
    assert_close(
        "cls.student_logits",
        &vals(&s_logits),
        &load(FILE, "cls.student_logits").data,
        TOL,
    );
    assert_close(
        "cls.teacher_logits",
        &vals(&t_logits),
        &load(FILE, "cls.teacher_logits").data,
        TOL,
    );

    let step = load_f64(FILE, "cls.step")[0] as u64;
    let temp = Schedules::official().teacher_temp(step);
    assert!((temp - load_f64(FILE, "cls.teacher_temp")[0]).abs() < 1e-12);
    let mut centre = Centre::new(12);
    centre.value = load(FILE, "cls.center_before").data;
    let probs = centre.teacher_probs(&t_logits, temp).unwrap();
    assert_close(
        "cls.teacher_probs",
        &vals(&probs),
        &load(FILE, "cls.teacher_probs").data,
        TOL,
    );
    centre.schedule_update(&probs).unwrap();
    let loss = classification_loss(&s_logits, &probs).unwrap();
    assert_close("cls.loss", &vals(&loss), &load(FILE, "cls.loss").data, TOL);

    let t2 = teacher.forward(&t("cls.teacher_in_step2")).unwrap();
    assert_close(
        "cls.teacher_logits_step2",
        &vals(&t2),
        &load(FILE, "cls.teacher_logits_step2").data,
        TOL,
    );
    let probs2 = centre.teacher_probs(&t2, temp).unwrap();
    assert_close(
        "cls.center_after_step1",
        &centre.value,
        &load(FILE, "cls.center_after_step1").data,
        1e-6,
    );
    assert_close(
        "cls.teacher_probs_step2",
        &vals(&probs2),
        &load(FILE, "cls.teacher_probs_step2").data,
        TOL,
    );

    let pred = load(FILE, "pred.loss").data;
    let cls = load(FILE, "cls.loss").data;
    let total = (0.5 * cls.iter().map(|&x| x as f64).sum::<f64>()
        + 0.5 * pred.iter().map(|&x| x as f64).sum::<f64>())
        / 12.0;
    assert!((total - load_f64(FILE, "total.loss")[0]).abs() < 1e-6);
}

#[test]
fn schedules_match_the_reference_helpers() {
    let s = Schedules::official();
    let steps = load_f64(FILE, "sched.steps");
    let cases: [(&str, &dyn Fn(u64) -> f64); 4] = [
        ("sched.teacher_temp", &|k| s.teacher_temp(k)),
        ("sched.ema_decay_encoder", &|k| s.ema_encoder(k)),
        ("sched.ema_decay_cls_head", &|k| s.ema_head(k)),
        ("sched.mcl_temperature", &|k| s.mcl_temperature(k)),
    ];
    for (name, f) in cases {
        for (k, want) in steps.iter().zip(load_f64(FILE, name)) {
            let got = f(*k as u64);
            assert!(
                (got - want).abs() <= 1e-12 + 1e-9 * want.abs(),
                "{name} at {k}: {got} vs {want}"
            );
        }
    }
}

fn fixture_masking() -> Masking {
    let r = load(FILE, "mask.noise");
    let noise: Vec<Vec<f32>> = r.data.chunks(r.shape[1]).map(<[f32]>::to_vec).collect();
    Masking::from_noise(&noise, 0.7).unwrap()
}

#[test]
fn masking_matches_order_shapes_and_gathered_tokens() {
    let m = fixture_masking();
    assert_eq!(m.n_keep as f32, load(FILE, "mask.len_keep").data[0]);
    let flat = |v: &Vec<Vec<u32>>| v.iter().flatten().map(|&x| x as f32).collect::<Vec<_>>();
    assert_eq!(flat(&m.ids_shuffle), load(FILE, "mask.ids_shuffle").data);
    assert_eq!(flat(&m.ids_restore), load(FILE, "mask.ids_restore").data);
    let mask: Vec<f32> = m.mask().into_iter().flatten().collect();
    assert_eq!(mask, load(FILE, "mask.mask").data);
    let tokens = t("mask.tokens");
    let visible = gather_rows(&tokens, &m.visible()).unwrap();
    let masked = gather_rows(&tokens, &m.masked()).unwrap();
    assert_close(
        "mask.visible",
        &vals(&visible),
        &load(FILE, "mask.visible").data,
        0.0,
    );
    assert_close(
        "mask.masked",
        &vals(&masked),
        &load(FILE, "mask.masked").data,
        0.0,
    );
}

#[test]
fn decoder_reorders_and_predicts_like_the_reference() {
    let params = with_prefix(FILE, "dec.param.");
    let pos = params["decoder_pos_embed"].clone();
    let mut grid = earmark::model::EncoderConfig::tiny();
    grid.embed_dim = 8;
    let ours = earmark::train::init::decoder_positions(&grid, 8);
    assert_close("decoder_pos_embed", &ours, &vals(&pos), 1e-6);
    let vb = VarBuilder::from_tensors(params, DType::F32, &Device::Cpu);
    let cfg = DecoderConfig {
        dim: 8,
        depth: 1,
        num_heads: 2,
        mlp_hidden_dim: 16,
        prediction_heads: 1,
    };
    let dec = Decoder::new(&vb, &cfg, 8, 1e-6, pos).unwrap();
    let out = dec.forward(&t("dec.z_v"), &fixture_masking()).unwrap();
    assert_close("dec.out", &vals(&out[0]), &load(FILE, "dec.out").data, TOL);
}

#[test]
fn differentiable_encoder_matches_the_inference_fixture() {
    let file = "tiny.safetensors";
    let params = with_prefix(file, "");
    let cfg = earmark::model::EncoderConfig {
        embed_dim: 64,
        depth: 2,
        num_heads: 4,
        mlp_hidden_dim: 256,
        ..earmark::model::EncoderConfig::vit_base()
    };
    let pos = params["pos_embed"].clone();
    let vb = VarBuilder::from_tensors(params, DType::F32, &Device::Cpu);
    let patch = PatchEmbed::new(&vb, &cfg, pos).unwrap();
    let stack = BlockStack::encoder(&vb.pp("student_encoder"), &cfg).unwrap();
    let mel = common::logmel_norm("sig_7p5s");
    let chunk: Vec<f32> = (0..80)
        .flat_map(|b| mel.data[b * mel.frames..b * mel.frames + 608].to_vec())
        .collect();
    let x = Tensor::from_vec(chunk, (1, 80, 608), &Device::Cpu).unwrap();
    let out = stack
        .forward(&patch.cls().unwrap(), &patch.tokens(&x).unwrap())
        .unwrap();
    let want = load("sig_7p5s.safetensors", "chunk0.layer_tokens");
    let per_layer = want.data.len() / 2;
    assert_close(
        "chunk0 last layer",
        &vals(&out),
        &want.data[per_layer..],
        TOL,
    );
}
