//! The offline A/B: listeners are split with the ranker's own hash, each arm is measured on its
//! own listeners' cases with its policy, and the split is checked against the weights.

use std::collections::BTreeSet;

use homerank::eval::metrics::ndcg_at;
use homerank::eval::{run_ab, AbConfig, AbPlan, CaseConfig, Part, Policy, Prepared};
use homerank::model::ModelFile;
use homerank::sim::{simulate, SimConfig};

fn model() -> ModelFile {
    ModelFile::from_bytes(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/homerank-s.gguf")).unwrap())
        .unwrap()
}

const PLAN: &str = r#"{"id": "ab-test", "salt": "s1", "arms": [
    {"name": "control", "weight": 2, "holdback": true},
    {"name": "linear", "weight": 1},
    {"name": "hr-s", "weight": 1}],
  "policies": {"linear": "linear"}}"#;

#[test]
fn arms_hold_the_listeners_the_hash_assigns_and_the_holdback_scores_the_server_order() {
    let model = model();
    let prepared =
        Prepared::new(simulate(&SimConfig { n_users: 400, ..Default::default() }), model.config.embedding_dim);
    let plan = AbPlan::from_json(PLAN).unwrap();
    assert_eq!(plan.policies, [Policy::Server, Policy::Linear, Policy::Session]);
    let config = AbConfig {
        cases: CaseConfig { n_cands: Some(50), max_cases: 600, ..Default::default() },
        ..Default::default()
    };
    let report = run_ab(&prepared, &model, &plan, &config).unwrap();

    // The cases the A/B ranked, recomputed here: every listener's cases in the arm the hash gives.
    let cases = prepared.cases(Part::Test, &CaseConfig { max_events: model.config.max_events, ..config.cases.clone() });
    let user = |c: &homerank::eval::RankingCase| prepared.dataset.sessions[c.session].user.clone().unwrap();
    for (k, arm) in report.arms.iter().enumerate() {
        let mine: Vec<_> = cases.iter().filter(|c| plan.arm_of(&user(c)) == k).collect();
        let units: BTreeSet<String> = mine.iter().map(|c| user(c)).collect();
        assert_eq!((arm.units, arm.cases), (units.len(), mine.len()), "arm {}", arm.name);
        assert!(arm.units >= 10, "arm {} has {} listeners", arm.name, arm.units);
        assert!(arm.ndcg10.lo <= arm.ndcg10.mean && arm.ndcg10.mean <= arm.ndcg10.hi);
        if k == 0 {
            let server = mine.iter().map(|c| ndcg_at(c.target, 10)).sum::<f64>() / mine.len() as f64;
            assert!((arm.ndcg10.mean - server).abs() < 1e-12, "holdback = the server's order");
        }
    }
    assert_eq!(
        report.arms.iter().map(|a| a.units).sum::<usize>(),
        cases.iter().map(user).collect::<BTreeSet<_>>().len()
    );
    assert!(report.sample_ratio.p > 0.001, "the hash splits by the weights: {:?}", report.sample_ratio);
    assert_eq!(report.diffs.len(), 2);
    assert!(report.arms[2].ndcg10.mean > report.arms[0].ndcg10.mean, "HR-S above the session-blind order");
    let again = run_ab(&prepared, &model, &plan, &config).unwrap();
    assert_eq!(format!("{:?}", again.arms), format!("{:?}", report.arms), "deterministic");
    let md = report.markdown(Some("ab.svg"));
    assert!(md.contains("| hr-s | session | 1 |") && md.contains("Sample-ratio check"));
    assert!(report.svg().starts_with("<svg"));
}
