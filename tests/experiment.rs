//! Experiments in the ranker (issue 15): assignment determinism and balance, stickiness across
//! reloads, holdback = the server's order exactly, the kill switch, arm options and models,
//! exposure records, and bad experiments as typed errors.

mod common;

use common::{fixture_ranker, make_page};
use homerank::model::Precision;
use homerank::{
    bucket, Action, Arm, ArmOptions, Experiment, Exposure, HomePage, HomeRanker, RerankOptions, RerankResult,
    SessionEvent, Started, BUCKETS,
};

fn arm(name: &str, weight: f64) -> Arm {
    Arm { name: name.into(), weight, options: None, model: None, holdback: false }
}

fn experiment(unit: &str, arms: Vec<Arm>) -> Experiment {
    Experiment { id: "home-rerank-1".into(), salt: Some("2026-12".into()), unit_id: unit.into(), arms, killed: false }
}

fn skip_and_like(ranker: &mut HomeRanker, page: &HomePage) {
    let a = &page.shelves[0].items[0];
    let b = &page.shelves[1].items[3];
    ranker.observe(&SessionEvent::new(&a.id, Action::Skip).with_ms_played(2_000.0)).unwrap();
    ranker.observe(&SessionEvent::new(&b.id, Action::Complete).with_ms_played(200_000.0)).unwrap();
    ranker.observe(&SessionEvent::new(&b.id, Action::Like)).unwrap();
}

/// A ranker with session events that change `page`'s order (checked).
fn ranker_with_events(page: &HomePage) -> HomeRanker {
    let mut ranker = fixture_ranker(1, Precision::Q8_0);
    skip_and_like(&mut ranker, page);
    let r = ranker.rerank(page, &RerankOptions::default()).unwrap();
    assert!(r.fallback.is_none() && r.events_used > 0);
    assert_ne!(r.order(), RerankResult::server_order(page).order(), "the events must move something");
    ranker
}

#[test]
fn the_documented_hash_pins_these_assignments() {
    // The same values are checked through the JS package (js/tests/experiment.test.mjs).
    assert_eq!(bucket("2026-12", "listener-42"), homerank::murmur3_x86_32(b"2026-12|listener-42", 0) % 10_000);
    let e = experiment("listener-42", vec![arm("control", 1.0), arm("treatment", 1.0)]);
    let a = e.assignment();
    println!("listener-42: bucket {} arm {} unitHash {}", a.bucket, a.arm, a.unit_hash);
    assert_eq!(a.bucket, PINNED_BUCKET);
    assert_eq!(a.arm, if PINNED_BUCKET < 5_000 { "control" } else { "treatment" });
    assert_eq!(a.unit_hash, PINNED_UNIT_HASH);
}

const PINNED_BUCKET: u32 = 8_166;
const PINNED_UNIT_HASH: &str = "ad27901b3ccb08a455a7cd97f2136318";

#[test]
fn assignment_is_deterministic_and_sticky_across_reloads() {
    let arms = || vec![arm("control", 1.0), arm("a", 1.0), arm("b", 2.0)];
    for i in 0..300 {
        let unit = format!("listener-{i}");
        let e = experiment(&unit, arms());
        // A "reload": new rankers, the experiment parsed again from its JSON.
        let json = serde_json::to_string(&e).unwrap();
        let mut first = fixture_ranker(1, Precision::Q8_0);
        first.set_experiment(Some(e.clone())).unwrap();
        let mut second = fixture_ranker(2, Precision::F32);
        second.set_experiment(Some(Experiment::from_json(&json).unwrap())).unwrap();
        assert_eq!(first.assignment(), second.assignment(), "{unit}");
        assert_eq!(first.assignment().unwrap(), &e.assignment());
        // Setting it again on the same ranker, or reranking, does not move the unit.
        first.set_experiment(Some(e.clone())).unwrap();
        assert_eq!(first.assignment(), second.assignment());
    }
    // Another salt reshuffles: about half of the units change arm between two 50/50 salts.
    let moved = (0..2_000)
        .filter(|i| {
            let unit = format!("listener-{i}");
            let a = experiment(&unit, vec![arm("x", 1.0), arm("y", 1.0)]);
            let b = Experiment { salt: Some("another".into()), ..a.clone() };
            a.arm_index() != b.arm_index()
        })
        .count();
    assert!((850..1_150).contains(&moved), "{moved} of 2000 moved");
}

/// Pearson's chi-square of `counts` against `expected`.
fn chi_square(counts: &[u64], expected: &[f64]) -> f64 {
    counts.iter().zip(expected).map(|(&o, &e)| (o as f64 - e).powi(2) / e).sum()
}

/// The upper `z`-quantile of chi-square with `df` degrees of freedom (Wilson–Hilferty).
fn chi_square_quantile(df: f64, z: f64) -> f64 {
    let a = 2.0 / (9.0 * df);
    df * (1.0 - a + z * a.sqrt()).powi(3)
}

#[test]
fn assignment_is_balanced_over_100000_units() {
    const UNITS: usize = 100_000;
    // The bounds: the 99.9th percentile of chi-square (p = 0.001), df = arms − 1. The units are
    // fixed, so the test is deterministic; the bound says how far off the split may be.
    for (weights, bound) in
        [(vec![50.0, 30.0, 20.0], 13.82), (vec![1.0, 1.0, 1.0, 1.0], 16.27), (vec![1.0, 1.0], 10.83)]
    {
        let arms = weights.iter().enumerate().map(|(i, &w)| arm(&format!("arm{i}"), w)).collect::<Vec<_>>();
        let e = experiment("", arms);
        let ends = e.bucket_ends();
        let mut counts = vec![0u64; weights.len()];
        for i in 0..UNITS {
            let unit = Experiment { unit_id: format!("listener-{i}"), ..e.clone() };
            counts[unit.arm_index()] += 1;
        }
        let expected: Vec<f64> = ends
            .iter()
            .enumerate()
            .map(|(i, &end)| {
                let begin = if i == 0 { 0 } else { ends[i - 1] };
                UNITS as f64 * f64::from(end - begin) / f64::from(BUCKETS)
            })
            .collect();
        let stat = chi_square(&counts, &expected);
        println!(
            "weights {weights:?}: counts {counts:?}, chi-square {stat:.2} (df {}, bound {bound})",
            weights.len() - 1
        );
        assert!(stat < bound, "weights {weights:?}: chi-square {stat:.2} ≥ {bound}; counts {counts:?}");
    }
    // Every one of the 10,000 buckets, uniform: df 9,999, bound at z = 3.09 (p ≈ 0.001).
    let mut counts = vec![0u64; BUCKETS as usize];
    for i in 0..UNITS {
        counts[bucket("2026-12", &format!("listener-{i}")) as usize] += 1;
    }
    let expected = vec![UNITS as f64 / f64::from(BUCKETS); BUCKETS as usize];
    let stat = chi_square(&counts, &expected);
    let bound = chi_square_quantile(9_999.0, 3.09);
    println!("10,000 buckets: chi-square {stat:.1} (df 9999, bound {bound:.1})");
    assert!(stat < bound, "buckets: chi-square {stat:.1} ≥ {bound:.1}");
}

#[test]
fn a_holdback_arm_returns_exactly_the_server_order() {
    let page = make_page(5, 12, 32, 5);
    let mut ranker = ranker_with_events(&page);
    let mut hold = arm("holdback", 1.0);
    hold.holdback = true;
    ranker.set_experiment(Some(experiment("listener-1", vec![hold]))).unwrap();
    let assignment = ranker.assignment().unwrap().clone();
    for options in [RerankOptions::default(), RerankOptions { strict: true, dedup: false, ..Default::default() }] {
        let r = ranker.rerank(&page, &options).unwrap();
        let want = RerankResult {
            model_id: ranker.model_id().into(),
            elapsed_ms: r.elapsed_ms,
            experiment: Some(assignment.clone()),
            ..RerankResult::server_order(&page)
        };
        assert_eq!(r, want);
        assert_eq!(r.experiment.as_ref().unwrap().arm, "holdback");
        // The asynchronous path too.
        match ranker.start_rerank(&page, &options).unwrap() {
            Started::Done(r) => assert_eq!(r, RerankResult { elapsed_ms: r.elapsed_ms, ..want }),
            Started::Pending(_) => panic!("a holdback never runs the model"),
        }
    }
    // A strict call still refuses a bad page; a lenient one falls back (the server's order).
    let mut bad = page.clone();
    bad.shelves[0].items[1].embedding[0] = f32::NAN;
    let strict = RerankOptions { strict: true, ..Default::default() };
    assert_eq!(ranker.rerank(&bad, &strict).unwrap_err().code(), "INVALID_PAGE");
    let r = ranker.rerank(&bad, &RerankOptions::default()).unwrap();
    assert_eq!(r.order(), RerankResult::server_order(&bad).order());
    assert!(r.fallback.unwrap().contains("NaN"));
    assert_eq!(r.experiment.unwrap().arm, "holdback");
    // Ending the experiment: the model ranks again, results carry no experiment.
    ranker.set_experiment(None).unwrap();
    let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_ne!(r.order(), RerankResult::server_order(&page).order());
    assert!(r.experiment.is_none() && !r.to_json().contains("\"experiment\""));
}

#[test]
fn the_kill_switch_sends_every_unit_to_the_server_order() {
    let page = make_page(5, 12, 32, 5);
    let mut ranker = ranker_with_events(&page);
    let e = experiment("listener-7", vec![arm("treatment", 1.0)]);
    ranker.set_experiment(Some(e.clone())).unwrap();
    let live = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_ne!(live.order(), RerankResult::server_order(&page).order());
    assert_eq!(live.experiment.as_ref().unwrap().arm, "treatment");
    assert!(live.exposure(1.0).unwrap().is_some());

    ranker.set_experiment(Some(Experiment { killed: true, ..e.clone() })).unwrap();
    let killed = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_eq!(killed.order(), RerankResult::server_order(&page).order());
    assert_eq!(killed.backend, "none");
    assert!(killed.fallback.is_none() && killed.removed.is_empty());
    let tag = killed.experiment.as_ref().unwrap();
    assert!(tag.killed && tag.arm == "treatment");
    assert!(killed.to_json().contains("\"killed\":true"));
    assert_eq!(killed.exposure(1.0).unwrap(), None, "a killed experiment exposes nothing");
    // Every unit.
    for i in 0..50 {
        let mut e = experiment(&format!("u{i}"), vec![arm("a", 1.0), arm("b", 3.0)]);
        e.killed = true;
        ranker.set_experiment(Some(e)).unwrap();
        let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
        assert_eq!(r.order(), RerankResult::server_order(&page).order());
    }
    // Back on.
    ranker.set_experiment(Some(e)).unwrap();
    assert_eq!(ranker.rerank(&page, &RerankOptions::default()).unwrap().order(), live.order());
}

#[test]
fn arm_options_override_the_calls_field_by_field() {
    let page = make_page(5, 12, 32, 5);
    let mut ranker = ranker_with_events(&page);
    let mut keep_shelves = arm("keep-shelves", 1.0);
    keep_shelves.options = Some(ArmOptions { reorder_shelves: Some(false), ..Default::default() });
    ranker.set_experiment(Some(experiment("u", vec![keep_shelves]))).unwrap();
    let call = RerankOptions { dedup: false, ..Default::default() };
    let r = ranker.rerank(&page, &call).unwrap();
    assert!(r.shelves.iter().all(|s| s.new_rank == s.server_rank), "the arm's reorderShelves: false wins");
    // The rest is the call's: the same as a call with reorderShelves false and no experiment.
    ranker.set_experiment(None).unwrap();
    let plain = ranker.rerank(&page, &RerankOptions { reorder_shelves: false, ..call }).unwrap();
    assert_eq!(r.order(), plain.order());
}

#[test]
fn an_arm_for_another_model_serves_the_server_order_and_says_why() {
    let page = make_page(5, 12, 32, 5);
    let mut ranker = ranker_with_events(&page);
    let name = ranker.model_id().split('@').next().unwrap().to_owned();
    let mut same = arm("same-model", 1.0);
    same.model = Some(name.clone());
    ranker.set_experiment(Some(experiment("u", vec![same]))).unwrap();
    let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert!(r.fallback.is_none() && r.backend != "none");
    let mut other = arm("hr-m", 1.0);
    other.model = Some("homerank-m".into());
    ranker.set_experiment(Some(experiment("u", vec![other]))).unwrap();
    let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_eq!(r.order(), RerankResult::server_order(&page).order());
    let why = r.fallback.as_deref().unwrap();
    assert!(why.contains("expects model 'homerank-m'") && why.contains(ranker.model_id()), "{why}");
    assert_eq!(r.experiment.as_ref().unwrap().arm, "hr-m");
}

#[test]
fn exposure_records_carry_the_hashed_unit_never_the_unit_id() {
    let page = make_page(3, 8, 32, 9);
    let mut ranker = ranker_with_events(&page);
    let unit = "device-4f1c9a-secret";
    ranker.set_experiment(Some(experiment(unit, vec![arm("control", 1.0), arm("treatment", 1.0)]))).unwrap();
    let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    let x = r.exposure(1_764_000_000_000.0).unwrap().unwrap();
    let a = ranker.assignment().unwrap();
    assert_eq!(
        x,
        Exposure {
            experiment: "home-rerank-1".into(),
            arm: a.arm.clone(),
            unit_hash: homerank::unit_hash("2026-12", unit),
            model_id: ranker.model_id().into(),
            backend: r.backend.clone(),
            page_id: page.page_id.clone(),
            time_ms: 1_764_000_000_000.0,
        }
    );
    let json = serde_json::to_string(&x).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"experiment":"home-rerank-1","arm":"{}","unitHash":"{}","modelId":"{}","backend":"{}","pageId":"{}","timeMs":1764000000000.0}}"#,
            a.arm,
            a.unit_hash,
            ranker.model_id(),
            r.backend,
            page.page_id
        )
    );
    assert!(!json.contains("secret") && !r.to_json().contains("secret"));
    assert!(!format!("{:?}", ranker.assignment()).contains("secret"));
    // A result that went through JSON (the host's logs) gives the same record.
    let back: RerankResult = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(back.exposure(1_764_000_000_000.0).unwrap(), Some(x));
    // Without an experiment: nothing to log. A time that is not a number: a typed error.
    ranker.set_experiment(None).unwrap();
    assert_eq!(ranker.rerank(&page, &RerankOptions::default()).unwrap().exposure(0.0).unwrap(), None);
    for t in [f64::NAN, f64::INFINITY] {
        assert_eq!(r.exposure(t).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}

#[test]
fn a_bad_experiment_is_a_typed_error_and_leaves_the_one_before() {
    let page = make_page(3, 8, 32, 9);
    let mut ranker = fixture_ranker(1, Precision::Q8_0);
    let good = experiment("u", vec![arm("a", 1.0), arm("b", 1.0)]);
    ranker.set_experiment(Some(good.clone())).unwrap();
    let long = "x".repeat(100_000);
    let mut dup = good.clone();
    dup.arms[1].name = "a".into();
    let bad = vec![
        Experiment { arms: vec![arm("a", 0.0), arm("b", 0.0)], ..good.clone() },
        Experiment { arms: vec![arm("a", -1.0)], ..good.clone() },
        Experiment { arms: vec![arm("a", f64::NAN)], ..good.clone() },
        Experiment { arms: vec![arm("a", f64::INFINITY)], ..good.clone() },
        Experiment { arms: vec![], ..good.clone() },
        dup,
        Experiment { id: String::new(), ..good.clone() },
        Experiment { unit_id: String::new(), ..good.clone() },
        Experiment { unit_id: long.clone(), ..good.clone() },
        Experiment { arms: vec![arm(&long, 1.0)], ..good.clone() },
    ];
    for e in bad {
        let err = ranker.set_experiment(Some(e)).unwrap_err();
        assert_eq!(err.code(), "INVALID_EXPERIMENT", "{err}");
        assert!(err.to_string().len() < 400, "the message caps what it echoes: {}", err.to_string().len());
        assert_eq!(ranker.experiment(), Some(&good));
    }
    for json in ["{", "[]", r#"{"id":"e","unitId":"u","arms":[{"name":"a","weight":1,"holdback":"yes"}]}"#] {
        assert_eq!(Experiment::from_json(json).unwrap_err().code(), "INVALID_EXPERIMENT", "{json}");
    }
    let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_eq!(r.experiment.as_ref(), ranker.assignment());
}

#[test]
fn results_without_an_experiment_serialize_as_before() {
    let page = make_page(3, 8, 32, 9);
    let mut ranker = ranker_with_events(&page);
    let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert!(!r.to_json().contains("experiment"));
    assert!(!RerankResult::server_order(&page).to_json().contains("experiment"));
    // And an old result (no `experiment` key) still parses.
    let back: RerankResult = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(back.experiment, None);
}
