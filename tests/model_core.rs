//! The HR-S core against the shared golden fixture (tests/fixtures/hr-s-core, computed outside
//! this project by a float64 numpy reference and onnxruntime): tokens → scores, for the CPU
//! engine the ranker runs and for the candle model used in training.

mod common;

use candle_core::{Device, Tensor};
use common::{argsort_desc, core_fixture, kendall_tau, max_abs_diff, CoreCase};
use homerank::model::cpu::CpuModel;
use homerank::model::{encode_tensors, HrsConfig, HrsModel, Masks, Precision};

fn engine_scores(precision: Precision, case: &CoreCase) -> Vec<f64> {
    let (weights, _) = core_fixture();
    let config = HrsConfig::default();
    let engine = CpuModel::new(&config, &encode_tensors(&config, &weights, precision).unwrap()).unwrap();
    engine
        .forward_core(&case.session, case.l, &case.cands, case.n, &case.server_score)
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn cpu_engine_matches_the_float64_reference() {
    let (_, cases) = core_fixture();
    for case in &cases {
        let got = engine_scores(Precision::F32, case);
        let err = max_abs_diff(&got, &case.numpy_f64);
        println!("engine N={} L={}: f32 max abs diff vs numpy f64 = {err:.2e}", case.n, case.l);
        assert!(err < 1e-4, "N={} L={}: max abs diff {err}", case.n, case.l);
        assert_eq!(argsort_desc(&got), argsort_desc(&case.numpy_f64));
        let q8 = engine_scores(Precision::Q8_0, case);
        let err = max_abs_diff(&q8, &case.numpy_f64);
        let tau = kendall_tau(&q8, &got);
        println!(
            "engine N={} L={}: Q8_0 weights max abs diff vs numpy f64 = {err:.4}, Kendall tau vs f32 = {tau:.4}",
            case.n, case.l
        );
        assert!(err < 0.1, "Q8_0 max abs diff {err}");
        assert!(tau >= 0.99, "tau {tau}");
    }
}

fn core_scores(model: &HrsModel, case: &CoreCase) -> Vec<f64> {
    let d = 64;
    let dev = &Device::Cpu;
    let s = Tensor::from_slice(&case.session, (1, case.l, d), dev).unwrap();
    let c = Tensor::from_slice(&case.cands, (1, case.n, d), dev).unwrap();
    let srv = Tensor::from_slice(&case.server_score, (1, case.n), dev).unwrap();
    let out = model.forward_core(&s, &c, &srv, &Masks::default()).unwrap();
    out.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|&v| v as f64).collect()
}

#[test]
fn f32_core_matches_the_float64_reference() {
    let (weights, cases) = core_fixture();
    let model = HrsModel::from_f32(HrsConfig::default(), &weights, Precision::F32).unwrap();
    for case in &cases {
        let got = core_scores(&model, case);
        let err = max_abs_diff(&got, &case.numpy_f64);
        println!("N={} L={}: f32 max abs diff vs numpy f64 = {err:.2e}", case.n, case.l);
        assert!(err < 1e-4, "N={} L={}: max abs diff {err}", case.n, case.l);
        assert!(max_abs_diff(&got, &case.ort_fp32) < 1e-4);
        assert_eq!(argsort_desc(&got), argsort_desc(&case.numpy_f64));
    }
}

#[test]
fn q8_0_core_is_within_int8_tolerance_and_keeps_the_order() {
    let (weights, cases) = core_fixture();
    let f32_model = HrsModel::from_f32(HrsConfig::default(), &weights, Precision::F32).unwrap();
    let q8_model = HrsModel::from_f32(HrsConfig::default(), &weights, Precision::Q8_0).unwrap();
    for case in &cases {
        let q8 = core_scores(&q8_model, case);
        let f32s = core_scores(&f32_model, case);
        let err = max_abs_diff(&q8, &case.numpy_f64);
        let tau = kendall_tau(&q8, &f32s);
        println!(
            "N={} L={}: Q8_0 max abs diff vs numpy f64 = {err:.4} (onnxruntime int8: {:.4}), Kendall tau vs f32 = {tau:.4}",
            case.n,
            case.l,
            max_abs_diff(&case.ort_int8, &case.numpy_f64)
        );
        assert!(err < 0.1, "N={} L={}: Q8_0 max abs diff {err}", case.n, case.l);
        assert!(tau >= 0.99, "N={} L={}: Kendall tau {tau}", case.n, case.l);
    }
}

#[test]
fn padded_batch_gives_the_unpadded_scores() {
    // Two cases of different sizes in one batch, padded with zeros and masked, score as alone.
    let (weights, cases) = core_fixture();
    let model = HrsModel::from_f32(HrsConfig::default(), &weights, Precision::F32).unwrap();
    let (a, b) = (&cases[0], &cases[1]);
    let (n, l, d) = (a.n.max(b.n), a.l.max(b.l), 64);
    let pad = |v: &[f32], rows: usize, to: usize| {
        let mut out = v.to_vec();
        out.resize(to * d, 0.0);
        assert_eq!(v.len(), rows * d);
        out
    };
    let dev = &Device::Cpu;
    let sess = [pad(&a.session, a.l, l), pad(&b.session, b.l, l)].concat();
    let cand = [pad(&a.cands, a.n, n), pad(&b.cands, b.n, n)].concat();
    let mut srv = vec![0f32; 2 * n];
    srv[..a.n].copy_from_slice(&a.server_score);
    srv[n..n + b.n].copy_from_slice(&b.server_score);
    let mask = |len_a: usize, len_b: usize, t: usize| {
        let m: Vec<f32> =
            (0..2 * t).map(|i| if i < t { (i < len_a) as u8 as f32 } else { (i - t < len_b) as u8 as f32 }).collect();
        Tensor::from_vec(m, (2, t), dev).unwrap()
    };
    let masks = Masks { session: Some(mask(a.l, b.l, l)), cands: Some(mask(a.n, b.n, n)) };
    let out = model
        .forward_core(
            &Tensor::from_vec(sess, (2, l, d), dev).unwrap(),
            &Tensor::from_vec(cand, (2, n, d), dev).unwrap(),
            &Tensor::from_vec(srv, (2, n), dev).unwrap(),
            &masks,
        )
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let got_a: Vec<f64> = out[0][..a.n].iter().map(|&v| v as f64).collect();
    let got_b: Vec<f64> = out[1][..b.n].iter().map(|&v| v as f64).collect();
    assert!(max_abs_diff(&got_a, &a.numpy_f64) < 1e-4);
    assert!(max_abs_diff(&got_b, &b.numpy_f64) < 1e-4);
}
