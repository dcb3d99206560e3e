#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Exact resume and crash safety of the trainer: 20 updates straight equal 10 + resume + 10;
//! a SIGKILL of `earmark train` (also in the middle of checkpoint writes) leaves a loadable
//! checkpoint from which the run continues with the same losses.

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use candle_core::Device;
use common::{WavFormat, write_wav};
use earmark::jobs::JobControl;
use earmark::model::EncoderConfig;
use earmark::train::checkpoint::{latest, load};
use earmark::train::cls_head::HeadConfig;
use earmark::train::dataset::TrainData;
use earmark::train::decoder::DecoderConfig;
use earmark::train::trainer::TrainRun;
use earmark::train::{TrainConfig, TrainEvent, TrainPreset, TrainState};

/// Six 8-second clips of different kinds.
fn dataset(dir: &Path) -> PathBuf {
    let root = dir.join("audio");
    std::fs::create_dir_all(&root).unwrap();
    for kind in 0..6 {
        let x = synth::sound(kind, kind as u64 + 1, 8.0, 16_000);
        write_wav(
            &root.join(format!("clip{kind}.wav")),
            1,
            16_000,
            WavFormat::S16,
            &x,
        );
    }
    root
}

fn micro() -> TrainPreset {
    TrainPreset {
        name: "micro".into(),
        encoder: EncoderConfig {
            embed_dim: 32,
            depth: 2,
            num_heads: 2,
            mlp_hidden_dim: 64,
            ..EncoderConfig::vit_base()
        },
        decoder: DecoderConfig {
            dim: 16,
            depth: 1,
            num_heads: 2,
            mlp_hidden_dim: 32,
            prediction_heads: 1,
        },
        head: HeadConfig {
            hidden: 32,
            bottleneck: 8,
            outputs: 16,
        },
    }
}

fn config(root: &Path) -> TrainConfig {
    let mut cfg = TrainConfig::new(micro(), 20, 2, 1e-3);
    cfg.checkpoint_every = 10;
    cfg.eval_every = 0;
    cfg.roots = vec![root.to_path_buf()];
    cfg
}

fn run_collect(run: &mut TrainRun) -> Vec<(u64, f64, f64)> {
    let mut steps = Vec::new();
    let end = run.run(&JobControl::new(), |ev| {
        if let TrainEvent::Step { stats, .. } = ev {
            steps.push((stats.step, stats.loss_pred, stats.loss_cls));
        }
    });
    assert!(matches!(end, TrainEvent::Finished { .. }), "{end:?}");
    steps
}

fn params(state: &TrainState) -> Vec<(String, Vec<f32>)> {
    state
        .params
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
            )
        })
        .collect()
}

#[test]
fn ten_plus_resume_plus_ten_equals_twenty_straight() {
    let tmp = tempfile::tempdir().unwrap();
    let root = dataset(tmp.path());
    let cfg = config(&root);
    let data = || TrainData::from_roots(&cfg.roots, 608, cfg.seed).unwrap();

    let mut straight = TrainRun::new(
        TrainState::new(cfg.clone(), &Device::Cpu).unwrap(),
        data(),
        &tmp.path().join("straight"),
    );
    let a = run_collect(&mut straight);
    assert_eq!(a.len(), 20);

    let split_dir = tmp.path().join("split");
    let mut first = TrainRun::new(
        TrainState::new(cfg.clone(), &Device::Cpu).unwrap(),
        data(),
        &split_dir,
    );
    first.stop_at = Some(10);
    let b1 = run_collect(&mut first);
    assert_eq!(b1.len(), 10);
    drop(first);
    let mut second = TrainRun::resume(&split_dir, &Device::Cpu, |s| {
        TrainData::from_roots(&s.cfg.roots, 608, s.cfg.seed)
    })
    .unwrap();
    assert_eq!(second.state.step, 10);
    let b2 = run_collect(&mut second);
    let b: Vec<_> = b1.into_iter().chain(b2).collect();
    assert_eq!(b.len(), 20);
    for ((ka, pa, ca), (kb, pb, cb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert!(
            (pa - pb).abs() <= 1e-6 && (ca - cb).abs() <= 1e-6,
            "step {ka}: {pa} {ca} vs {pb} {cb}"
        );
    }
    assert_eq!(
        params(&straight.state),
        params(&second.state),
        "weights differ after resume"
    );
    // Something was learnt: the weights moved.
    let fresh = TrainState::new(cfg, &Device::Cpu).unwrap();
    assert_ne!(params(&fresh), params(&straight.state));
}

/// The binary under test (`EARMARK_BIN` overrides the one cargo built, for shared target dirs).
fn bin() -> PathBuf {
    std::env::var_os("EARMARK_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_earmark").into(), PathBuf::from)
}

fn train_cmd(root: &Path, out: &Path, steps: u64, every: u64) -> Command {
    let mut c = Command::new(bin());
    c.args([
        "train",
        "--preset",
        "tiny",
        "--batch",
        "2",
        "--eval-every",
        "0",
        "--json",
    ])
    .args([
        "--steps",
        &steps.to_string(),
        "--checkpoint-every",
        &every.to_string(),
    ])
    .arg("--roots")
    .arg(root)
    .arg("--out")
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    c
}

fn resume_cmd(out: &Path) -> Command {
    let mut c = Command::new(bin());
    c.args(["train", "--json", "--resume"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// Last logged losses per step from a run's `log.jsonl`.
fn logged_losses(dir: &Path) -> std::collections::BTreeMap<u64, (f64, f64)> {
    let text = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["event"] == "step" {
            let s = &v["stats"];
            out.insert(
                s["step"].as_u64().unwrap(),
                (
                    s["loss_pred"].as_f64().unwrap(),
                    s["loss_cls"].as_f64().unwrap(),
                ),
            );
        }
    }
    out
}

#[test]
fn sigkill_leaves_a_loadable_checkpoint_and_the_run_continues_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let root = dataset(tmp.path());

    // Reference: 12 updates in one go.
    let straight = tmp.path().join("straight");
    let status = train_cmd(&root, &straight, 12, 6).status().unwrap();
    assert!(status.success());
    let want = logged_losses(&straight);
    assert_eq!(want.len(), 12);

    // Killed right after the step-6 checkpoint appears, then resumed.
    let killed = tmp.path().join("killed");
    let child = train_cmd(&root, &killed, 12, 6).spawn().unwrap();
    let ckpt6 = killed.join("checkpoint-0000006.safetensors");
    wait_for("checkpoint 6", Duration::from_secs(300), || ckpt6.exists());
    kill(child);
    let (state, _) = load(&latest(&killed).unwrap(), &Device::Cpu).unwrap();
    assert!(state.step >= 6);
    assert!(resume_cmd(&killed).status().unwrap().success());
    let got = logged_losses(&killed);
    for (step, (p, c)) in &want {
        let (gp, gc) = got[step];
        assert!(
            (p - gp).abs() <= 1e-6 && (c - gc).abs() <= 1e-6,
            "step {step}: {p} {c} vs {gp} {gc}"
        );
    }

    // Kills at arbitrary moments while a checkpoint is written after every update.
    let busy = tmp.path().join("busy");
    let mut child = train_cmd(&root, &busy, 1000, 1).spawn().unwrap();
    wait_for("a first checkpoint", Duration::from_secs(300), || {
        latest(&busy).is_some()
    });
    for delay_ms in [7u64, 53, 131, 17, 89] {
        std::thread::sleep(Duration::from_millis(delay_ms));
        kill(child);
        let newest = latest(&busy).unwrap();
        let (state, _) = load(&newest, &Device::Cpu)
            .unwrap_or_else(|e| panic!("{} does not load after SIGKILL: {e}", newest.display()));
        assert!(state.step >= 1);
        child = resume_cmd(&busy).spawn().unwrap();
        let before = state.step;
        wait_for("progress after resume", Duration::from_secs(300), || {
            latest(&busy)
                .and_then(|p| load(&p, &Device::Cpu).ok())
                .is_some_and(|(s, _)| s.step > before)
        });
    }
    kill(child);
}
