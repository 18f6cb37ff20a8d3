//! The wgpu forward against the CPU engine on the same features: lavapipe (Vulkan) and llvmpipe
//! (GL) in CI. Without an adapter the tests print why and pass, unless HOMERANK_REQUIRE_GPU=1.

mod common;

use common::{fixture_model_bytes, order, similarity_features as features};
use homerank::model::cpu::{CpuModel, Kernels, Scratch};
use homerank::model::{ModelFile, Precision};
use homerank::testing::GpuModel;
use homerank::{Action, GpuSettings};

/// Largest |gpu − cpu| accepted against the CPU engine's f32 kernels: the two differ only in
/// summation order and the attention's one-pass softmax (measured: a few 1e-6 on scores of
/// magnitude ~1).
const TOLERANCE: f32 = 2e-5;
/// Largest |gpu − cpu| against the CPU engine's default int16 kernels on a Q8_0 file (its
/// activations rounded to int16; tests/int16_kernels.rs states that error against f32).
const INT16_TOLERANCE: f32 = 2e-3;

fn required() -> bool {
    std::env::var("HOMERANK_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

fn gpu_model(file: &ModelFile, backends: wgpu::Backends) -> Option<GpuModel> {
    let settings = GpuSettings { backends, ..GpuSettings::default() };
    match pollster::block_on(GpuModel::new(&file.config, &file.tensors, &settings)) {
        Ok(m) => {
            eprintln!("gpu adapter: {:?}", m.adapter());
            Some(m)
        }
        Err(e) if required() => panic!("HOMERANK_REQUIRE_GPU=1 but no {backends:?} adapter: {e}"),
        Err(e) => {
            eprintln!("skipping: no {backends:?} adapter ({e})");
            None
        }
    }
}

fn check_parity(file: &ModelFile, backends: wgpu::Backends) {
    let Some(mut gpu) = gpu_model(file, backends) else { return };
    let cpu = CpuModel::with_kernels(&file.config, &file.tensors, Kernels::F32).unwrap();
    let int16 = CpuModel::new(&file.config, &file.tensors).unwrap();
    let dim = file.config.embedding_dim;
    let mut worst = 0f32;
    for (n, l, seed) in [(1, 1, 1), (7, 3, 2), (50, 16, 3), (200, 64, 4), (1000, 64, 5), (130, 40, 6)] {
        let f = features(n, l, dim, seed);
        let want = cpu.score(&f, &mut Scratch::default()).unwrap();
        let got = pollster::block_on(gpu.score(&f)).unwrap();
        assert_eq!(got.len(), n);
        let diff = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        eprintln!("{backends:?} {:?} n={n} l={l}: max |gpu − cpu| = {diff:.2e}", file.precision);
        assert!(diff <= TOLERANCE, "n={n} l={l}: max diff {diff}");
        let shipped = int16.score(&f, &mut Scratch::default()).unwrap();
        let diff16 = shipped.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        eprintln!(
            "{backends:?} {:?} n={n} l={l}: max |gpu − cpu {:?}| = {diff16:.2e}",
            file.precision,
            int16.kernels()
        );
        assert!(diff16 <= INT16_TOLERANCE, "n={n} l={l}: max diff to the int16 kernels {diff16}");
        let (wo, go) = (order(&want), order(&got));
        // Ties closer than the tolerance may swap; anything else must not.
        for (a, b) in wo.iter().zip(&go) {
            assert!(a == b || (want[*a] - want[*b]).abs() <= 2.0 * TOLERANCE, "n={n} l={l}: order differs");
        }
        worst = worst.max(diff);
    }
    eprintln!("{backends:?} {:?}: worst max |gpu − cpu| = {worst:.2e}", file.precision);
}

fn shipped_model() -> ModelFile {
    ModelFile::from_bytes(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/homerank-s.gguf")).unwrap())
        .unwrap()
}

#[test]
fn vulkan_matches_cpu_on_the_shipped_q8_model() {
    check_parity(&shipped_model(), wgpu::Backends::VULKAN);
}

#[test]
fn vulkan_matches_cpu_on_an_f32_model() {
    let file = ModelFile::from_bytes(&fixture_model_bytes(42, Precision::F32)).unwrap();
    check_parity(&file, wgpu::Backends::VULKAN);
}

#[test]
fn gl_matches_cpu_on_the_shipped_q8_model() {
    check_parity(&shipped_model(), wgpu::Backends::GL);
}

// --- The ranker's backend choice and its CPU fallback ---

use common::make_page;
use homerank::{Backend, HomePage, HomeRanker, RerankOptions, SessionEvent};

fn session_for(page: &HomePage) -> Vec<SessionEvent> {
    let ids: Vec<String> = page.items().map(|(_, _, i)| i.id.clone()).collect();
    (0..10).map(|k| SessionEvent::new(&ids[(k * 7) % ids.len()], [Action::Play, Action::Skip][k % 2])).collect()
}

/// A ranker on the shipped model with the session observed, and the GPU attached when
/// `settings` finds one (`None` when there is none and none is required).
fn ranker(page: &HomePage, backend: Backend, settings: Option<GpuSettings>) -> Option<HomeRanker> {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/homerank-s.gguf")).unwrap();
    let mut r = HomeRanker::from_bytes(&bytes).unwrap();
    r.set_backend(backend);
    if let Some(settings) = settings {
        let file = ModelFile::from_bytes(&bytes).unwrap();
        if let Err(e) = pollster::block_on(r.attach_gpu(&file, &settings)) {
            if required() {
                panic!("HOMERANK_REQUIRE_GPU=1 but attaching failed: {e}");
            }
            eprintln!("skipping: {e}");
            return None;
        }
    }
    r.observe_all(&session_for(page)).unwrap();
    Some(r)
}

fn vulkan() -> GpuSettings {
    GpuSettings { backends: wgpu::Backends::VULKAN, ..GpuSettings::default() }
}

#[test]
fn gpu_backend_gives_the_cpu_order() {
    let page = make_page(6, 20, 32, 9);
    let opts = RerankOptions::default();
    let Some(mut gpu) = ranker(&page, Backend::Gpu, Some(vulkan())) else { return };
    let mut cpu = ranker(&page, Backend::Cpu, None).unwrap();
    let (g, c) = (gpu.rerank(&page, &opts).unwrap(), cpu.rerank(&page, &opts).unwrap());
    assert_eq!((g.backend.as_str(), g.backend_fallback.as_deref(), g.fallback.as_deref()), ("gpu", None, None));
    assert_eq!(c.backend, "cpu");
    assert_eq!(g.order(), c.order());
    assert_eq!((gpu.stats().gpu_calls, gpu.stats().gpu_fallbacks), (1, 0));
    assert!(gpu.stats().gpu_adapter.is_some());
}

#[test]
fn a_lost_device_falls_back_to_the_cpu_for_the_call() {
    let page = make_page(4, 15, 32, 10);
    let opts = RerankOptions::default();
    let Some(mut r) = ranker(&page, Backend::Gpu, Some(vulkan())) else { return };
    let want = ranker(&page, Backend::Cpu, None).unwrap().rerank(&page, &opts).unwrap();
    r.gpu().unwrap().simulate_device_loss();
    let got = r.rerank(&page, &opts).unwrap();
    assert_eq!(got.backend, "cpu");
    let why = got.backend_fallback.clone().expect("the GPU failure is reported");
    assert!(why.contains("gpu backend"), "{why}");
    assert_eq!(got.fallback, None, "the CPU scored the page: no server-order fallback");
    assert_eq!(got.order(), want.order());
    assert_eq!(r.stats().gpu_fallbacks, 1);
}

#[test]
fn no_adapter_means_the_cpu_and_says_why() {
    let page = make_page(3, 8, 32, 11);
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/homerank-s.gguf")).unwrap();
    let mut r = HomeRanker::from_bytes(&bytes).unwrap();
    r.set_backend(Backend::Gpu);
    let none = GpuSettings { backends: wgpu::Backends::empty(), ..GpuSettings::default() };
    let err = pollster::block_on(r.attach_gpu(&ModelFile::from_bytes(&bytes).unwrap(), &none)).unwrap_err();
    assert!(err.to_string().contains("no adapter"), "{err}");
    r.observe_all(&session_for(&page)).unwrap();
    let got = r.rerank(&page, &RerankOptions::default()).unwrap();
    assert_eq!(got.backend, "cpu");
    assert!(got.backend_fallback.as_deref().unwrap().contains("no adapter"), "{:?}", got.backend_fallback);
    assert_eq!(r.stats().gpu_error, got.backend_fallback);
}

#[test]
fn a_timed_out_forward_falls_back_and_the_next_call_still_answers() {
    let page = make_page(40, 50, 32, 12);
    let opts = RerankOptions::default();
    let settings = GpuSettings { timeout: std::time::Duration::ZERO, ..vulkan() };
    let Some(mut r) = ranker(&page, Backend::Gpu, Some(settings)) else { return };
    let want = ranker(&page, Backend::Cpu, None).unwrap().rerank(&page, &opts).unwrap();
    let got = r.rerank(&page, &opts).unwrap();
    assert_eq!(got.backend, "cpu");
    assert!(
        got.backend_fallback.as_deref().unwrap().contains("Timeout")
            || got.backend_fallback.as_deref().unwrap().contains("time"),
        "{:?}",
        got.backend_fallback
    );
    assert_eq!(got.order(), want.order());
    // The timed-out readback is settled before the next forward (which times out again here).
    let again = r.rerank(&page, &opts).unwrap();
    assert_eq!((again.backend.as_str(), again.fallback.as_deref()), ("cpu", None));
    assert_eq!(again.order(), want.order());
    assert_eq!(r.stats().gpu_fallbacks, 2);
}

#[test]
fn auto_measures_each_size_class_once() {
    let small = make_page(2, 10, 32, 13);
    let Some(mut r) = ranker(&small, Backend::Auto, Some(vulkan())) else { return };
    let opts = RerankOptions::default();
    let first = r.rerank(&small, &opts).unwrap();
    assert_eq!(r.stats().auto_choices.len(), 1, "the first page of a size class is timed on both");
    assert_eq!(first.backend, "cpu", "the measuring call answers from the CPU");
    let second = r.rerank(&small, &opts).unwrap();
    assert_eq!(r.stats().auto_choices.len(), 1);
    let (class, gpu_faster) = r.stats().auto_choices[0];
    assert_eq!(class, 32);
    assert_eq!(second.backend, if gpu_faster { "gpu" } else { "cpu" });
    assert_eq!(second.order(), first.order());
}
