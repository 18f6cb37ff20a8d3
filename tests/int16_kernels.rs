//! The CPU engine's int16 kernels (the default for Q8_0 files: int16 activations × the file's
//! int8 weights, int16 attention scores) against its f32 kernels on the same weights, and on the
//! golden fixture against the float64 reference. What they may cost is stated here:
//! [`INT16_TOLERANCE`] on scores, and the same order wherever two scores are further apart.

mod common;

use common::{argsort_desc, core_fixture, max_abs_diff, order, similarity_features};
use homerank::model::cpu::{CpuModel, Kernels, Scratch};
use homerank::model::{encode_tensors, HrsConfig, ModelFile, Precision};

/// Largest |int16 − f32| on scores accepted (measured: ≤ 1.2e-3 on the shipped model's scores
/// with the integer value mix, ≤ 9e-4 before it; ~1e-5 on the golden fixture's).
const INT16_TOLERANCE: f64 = 2e-3;

fn shipped_model() -> ModelFile {
    ModelFile::from_bytes(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/homerank-s.gguf")).unwrap())
        .unwrap()
}

#[test]
fn a_q8_0_file_runs_int16_and_an_f32_file_f32() {
    let config = HrsConfig::default();
    let (weights, _) = core_fixture();
    let q8 = encode_tensors(&config, &weights, Precision::Q8_0).unwrap();
    let f32s = encode_tensors(&config, &weights, Precision::F32).unwrap();
    assert_eq!(CpuModel::new(&config, &q8).unwrap().kernels(), Kernels::Int16);
    assert_eq!(CpuModel::with_kernels(&config, &q8, Kernels::F32).unwrap().kernels(), Kernels::F32);
    assert_eq!(CpuModel::new(&config, &f32s).unwrap().kernels(), Kernels::F32);
}

#[test]
fn shipped_model_int16_against_f32_kernels() {
    let file = shipped_model();
    let int16 = CpuModel::new(&file.config, &file.tensors).unwrap();
    let f32k = CpuModel::with_kernels(&file.config, &file.tensors, Kernels::F32).unwrap();
    assert_eq!(int16.kernels(), Kernels::Int16);
    for (n, l, seed) in [(1, 1, 1), (7, 3, 2), (50, 16, 3), (200, 64, 4), (1000, 64, 5), (130, 40, 6)] {
        let f = similarity_features(n, l, file.config.embedding_dim, seed);
        let got = int16.score(&f, &mut Scratch::default()).unwrap();
        let want = f32k.score(&f, &mut Scratch::default()).unwrap();
        let (got64, want64): (Vec<f64>, Vec<f64>) =
            (got.iter().map(|&v| v as f64).collect(), want.iter().map(|&v| v as f64).collect());
        let err = max_abs_diff(&got64, &want64);
        println!("n={n} l={l}: max |int16 − f32| = {err:.2e}");
        assert!(err <= INT16_TOLERANCE, "n={n} l={l}: {err}");
        for (a, b) in order(&want).iter().zip(&order(&got)) {
            assert!(a == b || (want64[*a] - want64[*b]).abs() <= 2.0 * INT16_TOLERANCE, "n={n} l={l}: order differs");
        }
    }
}

#[test]
fn golden_fixture_int16_is_within_tolerance_of_f32_and_keeps_its_order() {
    let config = HrsConfig::default();
    let (weights, cases) = core_fixture();
    let tensors = encode_tensors(&config, &weights, Precision::Q8_0).unwrap();
    let int16 = CpuModel::new(&config, &tensors).unwrap();
    let f32k = CpuModel::with_kernels(&config, &tensors, Kernels::F32).unwrap();
    for case in &cases {
        let run = |m: &CpuModel| -> Vec<f64> {
            m.forward_core(&case.session, case.l, &case.cands, case.n, &case.server_score)
                .into_iter()
                .map(f64::from)
                .collect()
        };
        let (got, want) = (run(&int16), run(&f32k));
        let err = max_abs_diff(&got, &want);
        println!(
            "golden N={} L={}: max |int16 − f32| (Q8_0 weights) = {err:.2e}, int16 vs float64 = {:.4}",
            case.n,
            case.l,
            max_abs_diff(&got, &case.numpy_f64)
        );
        assert!(err <= INT16_TOLERANCE, "N={} L={}: {err}", case.n, case.l);
        assert_eq!(argsort_desc(&got), argsort_desc(&want), "N={} L={}", case.n, case.l);
    }
}

#[test]
fn int16_scores_are_the_same_on_every_call() {
    // Buffers are reused across calls and the session part is cached: neither may change a score.
    let file = shipped_model();
    let model = CpuModel::new(&file.config, &file.tensors).unwrap();
    let mut scratch = Scratch::default();
    let a = similarity_features(200, 64, 32, 9);
    let b = similarity_features(37, 5, 32, 10);
    let first = model.score(&a, &mut scratch).unwrap();
    model.score(&b, &mut scratch).unwrap();
    assert_eq!(model.score(&a, &mut scratch).unwrap(), first);
    assert_eq!(model.score(&a, &mut Scratch::default()).unwrap(), first);
}
