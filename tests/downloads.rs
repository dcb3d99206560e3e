//! Downloads from the model catalog against a loopback HTTP server started by the test: success
//! (through a redirect), a transfer cut off mid-body and resumed with a Range request (within one
//! call and across calls, a whole part answered with 416, a server without ranges), corrupt files
//! rejected with the previous good file kept, a 404 reported, and the heads installed from the
//! downloaded files (probe archive unpacked with its vocabulary, AudioSet encoder+head) giving the
//! reference fixture probabilities.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/download_fixture.rs"]
mod download_fixture;
#[path = "common/http_server.rs"]
mod http_server;

use candle_core::Device;
use common::*;
use download_fixture::*;
use earmark::catalog::{
    EntryStatus, FetchOptions, entry_path, head_vocabulary, manifest::EntryKind, status,
};
use earmark::model::{Encoder, embed};
use earmark::tags::{Head, Vocabulary, format_label, top_k};

const PROB_TOL: f32 = 1e-5;

#[test]
fn download_succeeds_through_a_redirect_and_loads_like_a_bundled_model() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    let entry = catalog.require("tiny").unwrap();
    assert_eq!(status(entry, &fx.models()), EntryStatus::Missing);
    let (report, reports) = fx.install_counting(&catalog, "tiny", quick());
    let report = report.unwrap();
    assert!(reports >= 2, "progress was reported {reports} times");
    let path = fx.models().join("tiny.safetensors");
    assert_eq!(report.path, path);
    assert_eq!(read(&path), read(&fixture("tiny.safetensors")));
    assert_eq!(status(entry, &fx.models()), EntryStatus::Installed);
    assert!(!fx.models().join("tiny.safetensors.part").exists());
    let redirected: Vec<u16> = fx.server.log().iter().map(|s| s.status).collect();
    assert_eq!(redirected, [302, 200]);
    // The description written beside it is what the fixture's own description says.
    let desc: serde_json::Value =
        serde_json::from_slice(&read(&fx.models().join("tiny.json"))).unwrap();
    let want: serde_json::Value = serde_json::from_slice(&read(&fixture("tiny.json"))).unwrap();
    assert_eq!(desc["encoder"]["embed_dim"], want["encoder"]["embed_dim"]);
    assert_eq!(desc["encoder"]["num_heads"], want["encoder"]["num_heads"]);
    assert_eq!(desc["encoder"]["n_t"], want["encoder"]["n_t"]);
    let enc = Encoder::load(&path, &Device::Cpu).unwrap();
    assert_eq!(enc.config().embed_dim, 64);
    // With a checksum in the catalog, a second download finds the file and keeps it.
    let requests = fx.server.log().len();
    let again = fx.install(&catalog, "tiny", quick()).unwrap();
    assert_eq!(again.reused, [path]);
    assert_eq!(fx.server.log().len(), requests);
}

#[test]
fn a_cut_transfer_resumes_with_a_range_request() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    let file = "tiny_state_dict.pt";
    let full = read(&fixture(file));
    // Within one call: the first answer drops after 100,000 bytes, the retry asks for the rest.
    fx.server.cut(file, 100_000, 1);
    let report = fx.install(&catalog, "tiny-pt", quick()).unwrap();
    assert_eq!(report.resumed_from, [100_000]);
    let seen = fx.server.requests_for(file);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range.as_deref(), Some("bytes=100000-"));
    assert_eq!(seen[1].status, 206);
    let path = fx.models().join(file);
    assert_eq!(read(&path), full);
    // The size came from the server (the catalog gives none), and the file loads.
    Encoder::load(&path, &Device::Cpu).unwrap();

    // Across calls: one try only, cut twice → the part stays; the next call resumes it.
    std::fs::remove_file(&path).unwrap();
    fx.server.cut(file, 200_000, 1);
    let one_try = FetchOptions {
        attempts: 1,
        ..quick()
    };
    let err = fx
        .install(&catalog, "tiny-pt", one_try.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broke off") || err.contains("ended after"),
        "{err}"
    );
    let entry = catalog.require("tiny-pt").unwrap();
    assert_eq!(
        status(entry, &fx.models()),
        EntryStatus::Partial { bytes: 200_000 }
    );
    assert!(
        !path.exists(),
        "a partial download must not take the file's place"
    );
    let report = fx.install(&catalog, "tiny-pt", one_try).unwrap();
    assert_eq!(report.resumed_from, [200_000]);
    assert_eq!(
        fx.server
            .requests_for(file)
            .last()
            .unwrap()
            .range
            .as_deref(),
        Some("bytes=200000-")
    );
    assert_eq!(read(&path), full);

    // A part that is already whole (a crash before it was put in place): the server answers the
    // resume with 416 and the file is checked and placed without another transfer.
    std::fs::remove_file(&path).unwrap();
    let part = fx.models().join("tiny_state_dict.pt.part");
    std::fs::write(&part, &full).unwrap();
    fx.install(&catalog, "tiny-pt", quick()).unwrap();
    assert_eq!(fx.server.requests_for(file).last().unwrap().status, 416);
    assert_eq!(read(&path), full);
    assert!(!part.exists());

    // A server that ignores Range: the part is dropped and the whole file taken from the start.
    std::fs::remove_file(&path).unwrap();
    fx.server.ignore_ranges(file);
    fx.server.cut(file, 50_000, 1);
    fx.install(&catalog, "tiny-pt", quick()).unwrap();
    let last = fx.server.requests_for(file).pop().unwrap();
    assert_eq!(
        (last.range.as_deref(), last.status),
        (Some("bytes=50000-"), 200)
    );
    assert_eq!(read(&path), full);
}

#[test]
fn corrupt_downloads_are_rejected_and_the_good_file_kept() {
    let fx = Fixture::new();
    let good = read(&fixture("tiny.safetensors"));
    let good_sha = sha(&fixture("tiny.safetensors"));
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    fx.server.put("flipped.safetensors", flipped);
    fx.server
        .put("short.safetensors", good[..good.len() - 10].to_vec());
    fx.server.put("noise.safetensors", vec![7u8; 5000]);
    let extra = [
        encoder_entry(
            "wrong-sha",
            "tiny.safetensors",
            &fx.server.url("flipped.safetensors"),
            &format!("sha256 = \"{good_sha}\""),
        ),
        encoder_entry(
            "wrong-size",
            "tiny.safetensors",
            &fx.server.url("short.safetensors"),
            &format!("size = {}", good.len()),
        ),
        encoder_entry(
            "not-a-model",
            "tiny.safetensors",
            &fx.server.url("noise.safetensors"),
            "",
        ),
    ]
    .concat();
    let catalog = fx.catalog(&extra);
    let path = fx.models().join("tiny.safetensors");
    let desc = fx.models().join("tiny.json");
    // Nothing there yet: a corrupt file never lands.
    let e = fx
        .install(&catalog, "wrong-sha", quick())
        .unwrap_err()
        .to_string();
    assert!(e.contains("SHA-256"), "{e}");
    assert!(!path.exists() && !desc.exists());
    fx.install(&catalog, "tiny", quick()).unwrap();
    let desc_before = read(&desc);
    // A good file in place: every bad download leaves it (and its description) as it was.
    let mut wrong_sha_catalog = catalog.clone();
    // The checksum of something else, so the file in place does not satisfy it either.
    wrong_sha_catalog
        .entries
        .iter_mut()
        .find(|e| e.name == "wrong-sha")
        .unwrap()
        .sha256 = Some("0".repeat(64));
    for (cat, name, why) in [
        (&wrong_sha_catalog, "wrong-sha", "SHA-256"),
        (&catalog, "wrong-size", "expected"),
        (
            &catalog,
            "not-a-model",
            "neither a PyTorch archive nor safetensors",
        ),
    ] {
        let e = fx.install(cat, name, quick()).unwrap_err().to_string();
        assert!(e.contains(why), "{name}: {e}");
        assert_eq!(read(&path), good, "{name} replaced the good file");
        assert_eq!(read(&desc), desc_before);
        assert!(!fx.models().join("tiny.safetensors.part").exists());
    }
}

#[test]
fn a_missing_file_is_reported_as_404() {
    let fx = Fixture::new();
    let extra = encoder_entry("gone", "gone.pt", &fx.server.url("gone.pt"), "");
    let catalog = fx.catalog(&extra);
    let e = fx.install(&catalog, "gone", quick()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, earmark::Error::Download(_)), "{e:?}");
    assert!(
        msg.contains("404 Not Found") && msg.contains("/files/gone.pt"),
        "{msg}"
    );
    // Not retried: a 404 is final.
    assert_eq!(fx.server.requests_for("gone.pt").len(), 1);
    assert!(!fx.models().join("gone.pt").exists());
    assert!(!fx.models().join("gone.pt.part").exists());
}

#[test]
fn downloaded_probe_archive_and_encoder_give_the_reference_probabilities() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    fx.install(&catalog, "tiny", quick()).unwrap();
    let report = fx.install(&catalog, "probes", quick()).unwrap();
    let head_path = fx.models().join("heads/matpac++_general_audio/esc50.pth");
    assert!(report.extra.contains(&head_path), "{report:?}");
    assert!(report.path.ends_with("heads/Weights_probes_matpac.zip"));
    // The task without a vocabulary is unpacked with numbered classes; the README is skipped.
    let other = fx.models().join("heads/matpac++_music/nsynth_pitch.pth");
    assert!(other.is_file());
    assert_eq!(head_vocabulary(&other), None);
    let vocab_path = head_vocabulary(&head_path).unwrap();
    assert!(vocab_path.ends_with("esc50.vocab.json"));
    let vocab = Vocabulary::load(&vocab_path).unwrap();
    let head = Head::load(&head_path).unwrap();
    assert_eq!((head.classes(), vocab.len()), (10, 10));
    // The head on the reference input.
    let x = load("probe_tiny.safetensors", "input_emb_pooled");
    let want = load("probe_tiny.safetensors", "probs");
    assert_close(
        "probe on fixture input",
        &head.probabilities(&x.data).unwrap(),
        &want.data,
        PROB_TOL,
    );
    // Downloaded encoder → downloaded head → downloaded names, end to end.
    let enc = Encoder::load(&fx.models().join("tiny.safetensors"), &Device::Cpu).unwrap();
    let e = embed(&enc, &logmel_norm("sig_7p5s"), &head.embed_options()).unwrap();
    let probs = head.probabilities(&e.clip_vector()).unwrap();
    assert_close("probe end to end", &probs, &want.data, PROB_TOL);
    let labels: Vec<String> = top_k(&probs, 3)
        .iter()
        .map(|&(i, p)| format_label(&vocab.labels[i], p))
        .collect();
    assert_eq!(
        labels,
        ["sound_6 (0.53)", "sound_0 (0.29)", "sound_2 (0.11)"]
    );
    let probes = catalog.require("probes").unwrap();
    assert_eq!(probes.kind, EntryKind::ProbeArchive);
    assert_eq!(status(probes, &fx.models()), EntryStatus::Installed);
}

#[test]
fn downloaded_audioset_encoder_and_head_give_the_reference_probabilities() {
    let fx = Fixture::new();
    let catalog = fx.catalog("");
    let report = fx.install(&catalog, "tiny-as-head", quick()).unwrap();
    let path = fx.models().join("tiny_as_state_dict.pt");
    assert_eq!(report.path, path);
    // Its vocabulary came along, into vocab/ and beside the checkpoint.
    assert!(entry_path(catalog.require("audioset-labels").unwrap(), &fx.models()).is_file());
    let vocab = Vocabulary::load(&head_vocabulary(&path).unwrap()).unwrap();
    assert_eq!(vocab.len(), 527);
    let enc = Encoder::load(&path, &Device::Cpu).unwrap();
    assert_eq!(enc.config().n_t, 992);
    let head = Head::load(&path).unwrap();
    let opts = catalog
        .require("tiny-as-head")
        .unwrap()
        .config
        .as_ref()
        .unwrap()
        .embed_options(EntryKind::EncoderWithHead);
    assert_eq!(opts, head.embed_options());
    for sig in ["sig_7p5s", "sig_13s"] {
        let clip = embed(&enc, &logmel_norm(sig), &opts).unwrap().clip_vector();
        let probs = head.probabilities(&clip).unwrap();
        let want = load("as_head_case.safetensors", &format!("{sig}.probs"));
        assert_close(sig, &probs, &want.data, PROB_TOL);
    }
    let top = top_k(
        &head
            .probabilities(
                &embed(&enc, &logmel_norm("sig_7p5s"), &opts)
                    .unwrap()
                    .clip_vector(),
            )
            .unwrap(),
        1,
    );
    assert_eq!(
        format_label(&vocab.labels[top[0].0], top[0].1),
        "Pulse (0.09)"
    );
}
