//! The offline A/B (`homerank ab`): a log's listeners are assigned to an experiment's arms with
//! the ranker's own hash ([`crate::experiment`]), each listener's test cases are ranked with
//! their arm's policy, and each arm is measured on its own listeners only — what an online A/B
//! of the same experiment would see, with the protocol's leak-free cases (see "Evaluation" in
//! docs/ARCHITECTURE.md). Intervals are a bootstrap over listeners (the unit of assignment), not
//! over cases, since one listener's cases are not independent. A sample-ratio check compares the
//! listeners per arm with the weights.

use std::collections::BTreeMap;

use serde::Deserialize;
use web_time::Instant;

use super::cases::{CaseConfig, RankingCase};
use super::linear::linear_inputs;
use super::metrics::{ndcg_at, order_by, quantile, rank_of, reciprocal_rank, Estimate};
use super::protocol::{fit_linear, Part, Prepared};
use crate::error::{Error, Result};
use crate::experiment::{bucket, Experiment};
use crate::model::cpu::{CpuModel, Scratch};
use crate::model::ModelFile;
use crate::rng::Rng;

/// Fewest listeners an arm needs for a bootstrap interval.
pub const MIN_UNITS: usize = 5;

/// How an arm ranks a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Policy {
    /// The server's order, untouched (what a holdback arm serves).
    #[serde(rename = "server")]
    Server,
    /// HR-S Q8_0 over the session (the shipped ranker).
    #[serde(rename = "session")]
    Session,
    /// The linear listwise model over the same on-device features (`eval::linear`, fitted on
    /// the training window): the strongest simple baseline with HR-S's inputs.
    #[serde(rename = "linear")]
    Linear,
    /// HR-S reading the listener's earlier sessions too: up to
    /// [`crate::profile::DEFAULT_MID_TERM_EVENTS`] of their events before the session, as a
    /// ranker with the mid-term context on (`CaseConfig::prior_events`).
    #[serde(rename = "session+mid-term")]
    SessionMidTerm,
}

impl Policy {
    /// The policy's name in plans and reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Server => "server",
            Policy::Session => "session",
            Policy::Linear => "linear",
            Policy::SessionMidTerm => "session+mid-term",
        }
    }
}

/// An experiment as the ranker runs it (without `unitId`: every listener of the log is a unit)
/// and the offline policy of each arm.
#[derive(Debug, Clone, PartialEq)]
pub struct AbPlan {
    /// The experiment (its `unitId` is a placeholder; assignment uses each listener's id).
    pub experiment: Experiment,
    /// One policy per arm, in `experiment.arms` order.
    pub policies: Vec<Policy>,
}

impl AbPlan {
    /// Parses `{ id, salt?, arms: [...], policies?: { armName: "server" | "session" |
    /// "linear" | "session+mid-term" } }`: the ranker's experiment format without `unitId`, plus the
    /// policies. An arm without a policy is `server` when it is a holdback, else `session`.
    pub fn from_json(json: &str) -> Result<Self> {
        let bad = |message: String| Error::Json { what: "experiment", message };
        let mut value: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let object = value.as_object_mut().ok_or_else(|| bad("expected an object".into()))?;
        let policies: BTreeMap<String, Policy> = match object.remove("policies") {
            Some(p) => serde_json::from_value(p).map_err(|e| bad(format!("policies: {e}")))?,
            None => BTreeMap::new(),
        };
        if object.contains_key("unitId") {
            return Err(bad("unitId: the offline A/B assigns every listener of the log; leave it out".into()));
        }
        object.insert("unitId".into(), "offline".into());
        let experiment: Experiment = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        experiment.validate()?;
        for name in policies.keys() {
            if !experiment.arms.iter().any(|a| &a.name == name) {
                return Err(bad(format!("policies: no arm is named '{name}'")));
            }
        }
        let policies = experiment
            .arms
            .iter()
            .map(|arm| match policies.get(&arm.name) {
                Some(&p) => p,
                None if arm.holdback => Policy::Server,
                None => Policy::Session,
            })
            .collect::<Vec<_>>();
        for (arm, &p) in experiment.arms.iter().zip(&policies) {
            if arm.holdback && p != Policy::Server {
                return Err(bad(format!("arm '{}' is a holdback: its policy can only be server", arm.name)));
            }
        }
        if experiment.killed {
            return Err(bad("the experiment is killed: every unit would get the server's order".into()));
        }
        Ok(AbPlan { experiment, policies })
    }

    /// The arm (index) of the unit `unit_id`, as the ranker assigns it on a device.
    pub fn arm_of(&self, unit_id: &str) -> usize {
        let b = bucket(self.experiment.salt(), unit_id);
        self.experiment.bucket_ends().iter().position(|&end| b < end).unwrap_or(0)
    }
}

/// Settings of an offline A/B.
#[derive(Debug, Clone)]
pub struct AbConfig {
    /// How test cases are drawn (its `max_events` becomes the model's).
    pub cases: CaseConfig,
    /// Bootstrap resamples of listeners.
    pub bootstrap: usize,
    /// Seeds the bootstrap.
    pub seed: u64,
}

impl Default for AbConfig {
    fn default() -> Self {
        AbConfig { cases: CaseConfig { max_cases: 20_000, ..Default::default() }, bootstrap: 1000, seed: 11 }
    }
}

/// One arm's outcome.
#[derive(Debug, Clone)]
pub struct ArmOutcome {
    /// The arm's name.
    pub name: String,
    /// Its policy.
    pub policy: Policy,
    /// Its weight in the experiment.
    pub weight: f64,
    /// Listeners (units) assigned to it that have test cases.
    pub units: usize,
    /// Their test cases.
    pub cases: usize,
    /// NDCG@10 over the arm's cases, interval by listener bootstrap.
    pub ndcg10: Estimate,
    /// MRR, likewise.
    pub mrr: Estimate,
}

/// The sample-ratio check: listeners per arm against the weights.
#[derive(Debug, Clone, Copy)]
pub struct SampleRatio {
    /// Pearson's chi-square statistic.
    pub chi2: f64,
    /// Degrees of freedom (arms − 1).
    pub df: usize,
    /// P(χ² ≥ chi2) under the weights; below 0.001 the assignment looks broken.
    pub p: f64,
    /// The smallest expected count: below 5 the chi-square approximation is rough.
    pub min_expected: f64,
}

/// What an offline A/B produced.
#[derive(Debug, Clone)]
pub struct AbReport {
    /// The dataset's name.
    pub dataset: String,
    /// The experiment's id.
    pub experiment: String,
    /// The model the session arms ranked with.
    pub model_id: String,
    /// Every arm, in the experiment's order; the first is the control.
    pub arms: Vec<ArmOutcome>,
    /// NDCG@10 of each other arm minus the control's, listener bootstrap (`(arm name, estimate)`).
    pub diffs: Vec<(String, Estimate)>,
    /// Listeners per arm against the weights.
    pub sample_ratio: SampleRatio,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs the offline A/B of `plan` on the test window of `prepared`, ranking the session arms
/// with `model`.
pub fn run_ab(prepared: &Prepared, model: &ModelFile, plan: &AbPlan, config: &AbConfig) -> Result<AbReport> {
    let start = Instant::now();
    let engine = CpuModel::new(&model.config, &model.tensors)?;
    let cases_config = CaseConfig { max_events: model.config.max_events, ..config.cases.clone() };
    let cases = prepared.cases(Part::Test, &cases_config);
    // The same cases with the earlier sessions' events before each prefix, for mid-term arms.
    let with_context = if plan.policies.contains(&Policy::SessionMidTerm) {
        let config = CaseConfig { prior_events: crate::profile::DEFAULT_MID_TERM_EVENTS, ..cases_config.clone() };
        prepared.cases(Part::Test, &config)
    } else {
        Vec::new()
    };
    let linear = plan.policies.contains(&Policy::Linear).then(|| fit_linear(prepared, &cases_config, 4_000));
    let n_arms = plan.experiment.arms.len();
    // Per arm, per unit: (sum of NDCG@10, sum of RR, cases).
    let mut units: Vec<BTreeMap<String, (f64, f64, usize)>> = vec![BTreeMap::new(); n_arms];
    let mut scratch = Scratch::default();
    for (i, case) in cases.iter().enumerate() {
        let unit = unit_of(prepared, case);
        let arm = plan.arm_of(&unit);
        let order = match plan.policies[arm] {
            Policy::Server => (0..case.candidates.len()).collect(),
            Policy::Session => order_by(&engine.score(&prepared.features(Part::Test, case), &mut scratch)?),
            Policy::SessionMidTerm => {
                order_by(&engine.score(&prepared.features(Part::Test, &with_context[i]), &mut scratch)?)
            }
            Policy::Linear => {
                let model = linear.as_ref().expect("fitted when an arm is linear");
                order_by(&model.scores(&linear_inputs(&prepared.features(Part::Test, case))))
            }
        };
        let rank = rank_of(&order, case.target);
        let entry = units[arm].entry(unit).or_insert((0.0, 0.0, 0));
        entry.0 += ndcg_at(rank, 10);
        entry.1 += reciprocal_rank(rank);
        entry.2 += 1;
    }
    let per_unit: Vec<Vec<(f64, f64, usize)>> = units.iter().map(|m| m.values().copied().collect()).collect();
    let mut rng = Rng::new(config.seed);
    // Resampled (NDCG, MRR) means per arm, the same resample index across arms for the diffs.
    let resampled: Vec<Vec<(f64, f64)>> = per_unit
        .iter()
        .map(|u| {
            (0..config.bootstrap)
                .map(|_| {
                    let picks = (0..u.len()).map(|_| u[rng.below(u.len())]);
                    ratio(picks)
                })
                .collect()
        })
        .collect();
    let arms: Vec<ArmOutcome> = plan
        .experiment
        .arms
        .iter()
        .enumerate()
        .map(|(k, arm)| {
            let (ndcg, mrr) = ratio(per_unit[k].iter().copied());
            let ndcg_draws: Vec<f64> = resampled[k].iter().map(|r| r.0).collect();
            let mrr_draws: Vec<f64> = resampled[k].iter().map(|r| r.1).collect();
            let cases = per_unit[k].iter().map(|u| u.2).sum();
            // One listener has no spread to resample: no interval rather than a zero-width one.
            let (ndcg_draws, mrr_draws) =
                if per_unit[k].len() < MIN_UNITS { (Vec::new(), Vec::new()) } else { (ndcg_draws, mrr_draws) };
            ArmOutcome {
                name: arm.name.clone(),
                policy: plan.policies[k],
                weight: arm.weight,
                units: per_unit[k].len(),
                cases,
                ndcg10: estimate(ndcg, ndcg_draws, cases),
                mrr: estimate(mrr, mrr_draws, cases),
            }
        })
        .collect();
    let diffs = (1..n_arms)
        .map(|k| {
            let draws: Vec<f64> = if per_unit[k].len().min(per_unit[0].len()) < MIN_UNITS {
                Vec::new()
            } else {
                resampled[k].iter().zip(&resampled[0]).map(|(b, a)| b.0 - a.0).collect()
            };
            let mean = arms[k].ndcg10.mean - arms[0].ndcg10.mean;
            (arms[k].name.clone(), estimate(mean, draws, arms[k].cases + arms[0].cases))
        })
        .collect();
    let counts: Vec<usize> = arms.iter().map(|a| a.units).collect();
    let weights: Vec<f64> = arms.iter().map(|a| a.weight).collect();
    Ok(AbReport {
        dataset: prepared.dataset.name.clone(),
        experiment: plan.experiment.id.clone(),
        model_id: model.model_id.clone(),
        arms,
        diffs,
        sample_ratio: sample_ratio(&counts, &weights),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The unit a case belongs to: its session's listener, or the session itself when the log has
/// no listener ids (then sessions are the units).
pub(super) fn unit_of(prepared: &Prepared, case: &RankingCase) -> String {
    let session = &prepared.dataset.sessions[case.session];
    session.user.clone().unwrap_or_else(|| session.id.clone())
}

/// `[lo, hi]` (signed for differences, marked n.s. when it holds 0), or why there is none.
fn interval(e: &Estimate, signed: bool) -> String {
    if !e.mean.is_finite() {
        return "none (no listeners)".into();
    }
    if !(e.lo.is_finite() && e.hi.is_finite()) {
        return format!("none (fewer than {MIN_UNITS} listeners)");
    }
    let sig = if !signed || e.lo > 0.0 || e.hi < 0.0 { "" } else { " (n.s.)" };
    if signed {
        format!("[{:+.4}, {:+.4}]{sig}", e.lo, e.hi)
    } else {
        format!("[{:.4}, {:.4}]", e.lo, e.hi)
    }
}

/// (Σ NDCG / Σ cases, Σ RR / Σ cases) over units; NaN without cases.
fn ratio(units: impl Iterator<Item = (f64, f64, usize)>) -> (f64, f64) {
    let (mut n, mut r, mut c) = (0.0, 0.0, 0usize);
    for (a, b, k) in units {
        n += a;
        r += b;
        c += k;
    }
    if c == 0 {
        (f64::NAN, f64::NAN)
    } else {
        (n / c as f64, r / c as f64)
    }
}

fn estimate(mean: f64, mut draws: Vec<f64>, n: usize) -> Estimate {
    draws.retain(|d| d.is_finite());
    draws.sort_by(f64::total_cmp);
    if draws.is_empty() {
        return Estimate { mean, lo: f64::NAN, hi: f64::NAN, n };
    }
    Estimate { mean, lo: quantile(&draws, 0.025), hi: quantile(&draws, 0.975), n }
}

/// Pearson's chi-square of `counts` against the shares of `weights`, and its p-value.
pub fn sample_ratio(counts: &[usize], weights: &[f64]) -> SampleRatio {
    let total: f64 = counts.iter().sum::<usize>() as f64;
    let wsum: f64 = weights.iter().sum();
    let chi2: f64 = counts
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let e = total * w / wsum;
            if e > 0.0 {
                (o as f64 - e).powi(2) / e
            } else {
                0.0
            }
        })
        .sum();
    let df = counts.len().saturating_sub(1);
    let p = if df == 0 { 1.0 } else { 1.0 - lower_regularized_gamma(df as f64 / 2.0, chi2 / 2.0) };
    let min_expected = weights.iter().map(|&w| total * w / wsum).fold(f64::INFINITY, f64::min);
    SampleRatio { chi2, df, p: p.clamp(0.0, 1.0), min_expected }
}

/// P(s, x), the regularized lower incomplete gamma function: a series below `s + 1`, a continued
/// fraction (modified Lentz) above (Numerical Recipes, §6.2).
fn lower_regularized_gamma(s: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let log_prefix = s * x.ln() - x - ln_gamma(s);
    if x < s + 1.0 {
        let (mut term, mut sum, mut a) = (1.0 / s, 1.0 / s, s);
        for _ in 0..500 {
            a += 1.0;
            term *= x / a;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum * log_prefix.exp()).min(1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - s;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - s);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < tiny { tiny } else { d };
            c = b + an / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        1.0 - (log_prefix.exp() * h)
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

impl AbReport {
    /// The arms and differences for a terminal.
    pub fn terminal_summary(&self) -> String {
        let mut out = format!(
            "offline A/B `{}` on {} (model {}, {:.1} s)\n",
            self.experiment, self.dataset, self.model_id, self.seconds
        );
        for a in &self.arms {
            out.push_str(&format!(
                "  {:<16} {:<8} {:>5} listeners {:>6} cases  NDCG@10 {:.4} {}  MRR {:.4}\n",
                a.name,
                a.policy.name(),
                a.units,
                a.cases,
                a.ndcg10.mean,
                interval(&a.ndcg10, false),
                a.mrr.mean
            ));
        }
        for (name, d) in &self.diffs {
            out.push_str(&format!("  {name} − {}: {:+.4} {}\n", self.arms[0].name, d.mean, interval(d, true)));
        }
        let s = self.sample_ratio;
        out.push_str(&format!("  sample ratio: χ² {:.2}, df {}, p {:.3}\n", s.chi2, s.df, s.p));
        out
    }

    /// A markdown report; `svg_name` links the plot written beside it.
    pub fn markdown(&self, svg_name: Option<&str>) -> String {
        let mut out = format!(
            "# Offline A/B: `{}` on {}\n\nEvery listener of the test window is assigned to an arm with the ranker's \
             hash (MurmurHash3_x86_32 of `salt|unitId` into 10,000 buckets, `src/experiment.rs`); each arm is \
             measured on its own listeners' cases only, as an online A/B would be. Cases: the leak-free window \
             protocol of `homerank eval` (50 candidates): there the server's order is weak by construction (the \
             target sits among items the server ranks alike), so a holdback arm is a floor, not a baseline; the \
             `linear` policy is the strongest simple one with HR-S's inputs. Intervals: 95 % bootstrap over \
             listeners. Model `{}`.\n\n\
             | arm | policy | weight | listeners | cases | NDCG@10 | 95 % interval | MRR |\n|---|---|---|---|---|---|---|---|\n",
            self.experiment, self.dataset, self.model_id
        );
        for a in &self.arms {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.4} | {} | {:.4} |\n",
                a.name,
                a.policy.name(),
                a.weight,
                a.units,
                a.cases,
                a.ndcg10.mean,
                interval(&a.ndcg10, false),
                a.mrr.mean
            ));
        }
        out.push_str("\n| difference | NDCG@10 | 95 % interval |\n|---|---|---|\n");
        for (name, d) in &self.diffs {
            out.push_str(&format!("| {name} − {} | {:+.4} | {} |\n", self.arms[0].name, d.mean, interval(d, true)));
        }
        let s = self.sample_ratio;
        let verdict = if s.p < 0.001 {
            "**the split does not match the weights: check the assignment**"
        } else if s.min_expected < 5.0 {
            "too few listeners for the check to mean much (an expected count below 5)"
        } else {
            "consistent with the weights"
        };
        out.push_str(&format!(
            "\nSample-ratio check: χ² = {:.2} with {} degree(s) of freedom, p = {:.3}: {verdict}.\n",
            s.chi2, s.df, s.p
        ));
        if let Some(svg) = svg_name {
            out.push_str(&format!("\n![NDCG@10 per arm with listener-bootstrap intervals]({svg})\n"));
        }
        out
    }

    /// NDCG@10 per arm as dots with their intervals.
    pub fn svg(&self) -> String {
        let (w, row, left) = (640.0, 34.0, 170.0);
        let h = 50.0 + row * self.arms.len() as f64;
        let ends = |a: &ArmOutcome| [a.ndcg10.lo, a.ndcg10.hi, a.ndcg10.mean];
        let lo = self.arms.iter().flat_map(ends).filter(|v| v.is_finite()).fold(f64::MAX, f64::min);
        let hi = self.arms.iter().flat_map(ends).filter(|v| v.is_finite()).fold(f64::MIN, f64::max);
        let (lo, hi) = if lo < hi { (lo - 0.01, hi + 0.01) } else { (0.0, 1.0) };
        let x = |v: f64| left + (v - lo) / (hi - lo) * (w - left - 30.0);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/><text x=\"10\" y=\"18\">NDCG@10 per arm, 95 % listener bootstrap</text>"
        );
        for (i, a) in self.arms.iter().enumerate() {
            let y = 40.0 + row * i as f64;
            let e = &a.ndcg10;
            let (l, r) = if e.lo.is_finite() && e.hi.is_finite() { (e.lo, e.hi) } else { (e.mean, e.mean) };
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} ({})</text><line x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" \
                 stroke=\"#1a7f37\" stroke-width=\"3\"/><circle cx=\"{}\" cy=\"{y}\" r=\"5\" fill=\"#1a7f37\"/>",
                left - 8.0,
                y + 4.0,
                a.name,
                a.policy.name(),
                x(l),
                x(r),
                x(e.mean)
            ));
        }
        for k in 0..=4 {
            let v = lo + (hi - lo) * k as f64 / 4.0;
            out.push_str(&format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{v:.3}</text>", x(v), h - 6.0));
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_p_values_match_tables() {
        // χ²(1) = 3.841 and χ²(2) = 5.991 are the 5 % critical values; χ²(4) = 13.277 the 1 %.
        assert!((sample_ratio_p(3.841_458_8, 1) - 0.05).abs() < 1e-6);
        assert!((sample_ratio_p(5.991_464_5, 2) - 0.05).abs() < 1e-6);
        assert!((sample_ratio_p(13.276_704, 4) - 0.01).abs() < 1e-6);
        assert!((sample_ratio_p(0.0, 3) - 1.0).abs() < 1e-12);
    }

    fn sample_ratio_p(chi2: f64, df: usize) -> f64 {
        1.0 - lower_regularized_gamma(df as f64 / 2.0, chi2 / 2.0)
    }

    #[test]
    fn a_balanced_split_passes_and_a_skewed_one_fails() {
        let ok = sample_ratio(&[5010, 4990], &[1.0, 1.0]);
        assert!(ok.p > 0.5 && ok.df == 1, "{ok:?}");
        let broken = sample_ratio(&[5300, 4700], &[1.0, 1.0]);
        assert!(broken.p < 1e-6, "{broken:?}");
        let weighted = sample_ratio(&[900, 100], &[9.0, 1.0]);
        assert!(weighted.chi2 < 1e-12);
    }

    #[test]
    fn plans_default_holdbacks_to_the_server_and_refuse_what_cannot_run() {
        let plan = AbPlan::from_json(
            r#"{"id": "hrs-v1", "arms": [{"name": "control", "weight": 1, "holdback": true}, {"name": "hrs", "weight": 1}]}"#,
        )
        .unwrap();
        assert_eq!(plan.policies, [Policy::Server, Policy::Session]);
        let arm = plan.arm_of("user:7");
        assert_eq!(arm, plan.arm_of("user:7"), "sticky");
        let mid = r#"{"id": "x", "arms": [{"name": "a", "weight": 1}], "policies": {"a": "session+mid-term"}}"#;
        assert_eq!(AbPlan::from_json(mid).unwrap().policies, [Policy::SessionMidTerm]);
        let unit = r#"{"id": "x", "unitId": "u", "arms": [{"name": "a", "weight": 1}]}"#;
        assert!(AbPlan::from_json(unit).unwrap_err().to_string().contains("unitId"));
        let typo = r#"{"id": "x", "arms": [{"name": "a", "weight": 1}], "policies": {"b": "server"}}"#;
        assert!(AbPlan::from_json(typo).unwrap_err().to_string().contains("'b'"));
        let holdback =
            r#"{"id": "x", "arms": [{"name": "a", "weight": 1, "holdback": true}], "policies": {"a": "session"}}"#;
        assert!(AbPlan::from_json(holdback).unwrap_err().to_string().contains("holdback"));
    }
}
