//! The `homerank` binary: rerank and inspect on files, and clear errors on bad ones.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{fixture_model_bytes, make_page};
use homerank::model::Precision;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_homerank"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("homerank-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn rerank_prints_the_result_and_inspect_the_metadata() {
    let dir = temp_dir("ok");
    let model = dir.join("fixture.gguf");
    std::fs::write(&model, fixture_model_bytes(5, Precision::Q8_0)).unwrap();
    let page = make_page(2, 4, 32, 3);
    std::fs::write(dir.join("page.json"), serde_json::to_string(&page).unwrap()).unwrap();
    std::fs::write(
        dir.join("events.jsonl"),
        "{\"itemId\":\"s0-i0\",\"action\":\"skip\",\"msPlayed\":1500}\n{\"itemId\":\"s1-i2\",\"action\":\"like\"}\n",
    )
    .unwrap();

    let out = bin()
        .args(["rerank", "--model"])
        .arg(&model)
        .arg("--page")
        .arg(dir.join("page.json"))
        .arg("--session")
        .arg(dir.join("events.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: homerank::RerankResult = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result.events_used, 2);
    assert!(result.fallback.is_none());
    assert_eq!(result.shelves.iter().map(|s| s.items.len()).sum::<usize>(), 8);

    let out = bin().args(["inspect", "--model"]).arg(&model).output().unwrap();
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["name"], "homerank-s-test-fixture");
    assert_eq!(info["precision"], "q8_0");
    assert_eq!(info["params"], 240_937);
    assert_eq!(info["manifest"], "not listed");
    assert_eq!(info["config"]["embeddingDim"], 32);
}

#[test]
fn bad_files_fail_with_a_message_naming_the_file() {
    let dir = temp_dir("bad");
    let model = dir.join("broken.gguf");
    std::fs::write(&model, b"GGUF but not really").unwrap();
    std::fs::write(dir.join("page.json"), "{\"shelves\": [").unwrap();

    let out = bin().args(["inspect", "--model"]).arg(&model).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("homerank: ") && err.contains("broken.gguf") && err.contains("invalid model file"),
        "{err}"
    );

    let good = dir.join("good.gguf");
    std::fs::write(&good, fixture_model_bytes(5, Precision::Q8_0)).unwrap();
    let out = bin().args(["rerank", "--model"]).arg(&good).arg("--page").arg(dir.join("page.json")).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("page.json") && err.contains("invalid page JSON"), "{err}");

    let out =
        bin().args(["rerank", "--model"]).arg(dir.join("missing.gguf")).arg("--page").arg("x.json").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.gguf"));
}

#[test]
fn a_manifest_beside_the_model_is_enforced() {
    let dir = temp_dir("manifest");
    let model = dir.join("m.gguf");
    std::fs::write(&model, fixture_model_bytes(5, Precision::Q8_0)).unwrap();
    let manifest = serde_json::json!({"default": "m", "models": [{
        "name": "m", "file": "m.gguf", "sha256": "00".repeat(32), "bytes": 1, "precision": "q8_0",
        "featureSchema": 1, "embeddingDim": 32 }]});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let page = make_page(1, 2, 32, 3);
    std::fs::write(dir.join("page.json"), serde_json::to_string(&page).unwrap()).unwrap();
    let out = bin().args(["rerank", "--model"]).arg(&model).arg("--page").arg(dir.join("page.json")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("model checksum mismatch"));
    let out = bin().args(["inspect", "--model"]).arg(&model).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(info["manifest"].as_str().unwrap().starts_with("MISMATCH: model checksum mismatch"));
}

#[test]
fn backend_flag_chooses_the_engine_and_refuses_unknown_ones() {
    let dir = temp_dir("backend");
    let model = dir.join("fixture.gguf");
    std::fs::write(&model, fixture_model_bytes(5, Precision::Q8_0)).unwrap();
    std::fs::write(dir.join("page.json"), serde_json::to_string(&make_page(2, 4, 32, 3)).unwrap()).unwrap();
    std::fs::write(dir.join("events.jsonl"), "{\"itemId\":\"s0-i1\",\"action\":\"play\"}\n").unwrap();
    let run = |backend: &str| {
        bin()
            .args(["rerank", "--backend", backend, "--model"])
            .arg(&model)
            .arg("--page")
            .arg(dir.join("page.json"))
            .arg("--session")
            .arg(dir.join("events.jsonl"))
            .output()
            .unwrap()
    };
    let cpu = run("cpu");
    assert!(cpu.status.success(), "{}", String::from_utf8_lossy(&cpu.stderr));
    let cpu: homerank::RerankResult = serde_json::from_slice(&cpu.stdout).unwrap();
    assert_eq!((cpu.backend.as_str(), cpu.backend_fallback.as_deref()), ("cpu", None));

    let gpu = run("gpu");
    assert!(gpu.status.success(), "{}", String::from_utf8_lossy(&gpu.stderr));
    let gpu: homerank::RerankResult = serde_json::from_slice(&gpu.stdout).unwrap();
    if cfg!(feature = "gpu") {
        // Scored on whatever adapter there is, or on the CPU with the reason.
        assert!(gpu.backend == "gpu" || gpu.backend_fallback.is_some());
    } else {
        assert_eq!(gpu.backend, "cpu");
        let why = gpu.backend_fallback.clone().unwrap_or_default();
        assert!(why.contains("GPU backend") && why.contains("not enabled in this build"), "{why}");
    }
    assert_eq!(gpu.order(), cpu.order());

    let bad = run("tpu");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("auto, cpu or gpu"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
