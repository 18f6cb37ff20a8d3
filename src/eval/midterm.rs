//! Mid-term context, measured (`homerank midterm`): the same test cases ranked from the session
//! alone and with the latest events of the listener's earlier sessions put before the session
//! (what a device that kept them could give the model; `CaseConfig::prior_events`). The
//! difference is paired per case and its interval is a bootstrap over listeners, since one
//! listener's cases share their earlier sessions.

use std::collections::BTreeMap;

use web_time::Instant;

use super::ab::unit_of;
use super::cases::CaseConfig;
use super::linear::linear_inputs;
use super::metrics::{ndcg_at, order_by, quantile, rank_of, Estimate};
use super::protocol::{fit_linear, EvalConfig, Part, Prepared};
use crate::error::{Error, Result};
use crate::model::cpu::{CpuModel, Scratch};
use crate::model::ModelFile;
use crate::rng::Rng;

/// One method with and without the earlier sessions' events.
#[derive(Debug, Clone)]
pub struct ContextRow {
    /// The method.
    pub name: String,
    /// NDCG@10 from the session alone.
    pub session_only: f64,
    /// NDCG@10 with the earlier events.
    pub with_context: f64,
    /// `with_context − session_only`, interval by listener bootstrap.
    pub diff: Estimate,
}

/// The comparison for one context size.
#[derive(Debug, Clone)]
pub struct MidTermReport {
    /// The dataset's name.
    pub dataset: String,
    /// The model's id.
    pub model_id: String,
    /// Most earlier events put before each session.
    pub prior_events: usize,
    /// Test cases (the same in both columns).
    pub cases: usize,
    /// Listeners the cases belong to.
    pub listeners: usize,
    /// Cases whose listener had earlier sessions.
    pub cases_with_context: usize,
    /// HR-S Q8_0 and the linear baseline.
    pub rows: Vec<ContextRow>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Ranks the test cases of `config` with and without `prior_events` earlier events.
pub fn compare_context(
    prepared: &Prepared,
    model: &ModelFile,
    config: &EvalConfig,
    prior_events: usize,
) -> Result<MidTermReport> {
    let start = Instant::now();
    let base = CaseConfig { max_events: model.config.max_events, prior_events: 0, ..config.cases.clone() };
    let alone = prepared.cases(Part::Test, &base);
    let with = prepared.cases(Part::Test, &CaseConfig { prior_events, ..base.clone() });
    let same = alone.len() == with.len()
        && alone
            .iter()
            .zip(&with)
            .all(|(a, b)| a.session == b.session && a.candidates == b.candidates && a.target == b.target);
    if !same {
        return Err(Error::Internal("the cases with and without earlier events differ".into()));
    }
    let engine = CpuModel::new(&model.config, &model.tensors)?;
    let linear = fit_linear(prepared, &base, config.linear_train_cases);
    let mut scratch = Scratch::default();
    // Per case: [HR-S alone, HR-S with, linear alone, linear with].
    let mut ndcg: Vec<[f64; 4]> = Vec::with_capacity(alone.len());
    for (a, w) in alone.iter().zip(&with) {
        let (fa, fw) = (prepared.features(Part::Test, a), prepared.features(Part::Test, w));
        let at = |scores: &[f32]| ndcg_at(rank_of(&order_by(scores), a.target), 10);
        ndcg.push([
            at(&engine.score(&fa, &mut scratch)?),
            at(&engine.score(&fw, &mut scratch)?),
            at(&linear.scores(&linear_inputs(&fa))),
            at(&linear.scores(&linear_inputs(&fw))),
        ]);
    }
    let mut by_listener: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in alone.iter().enumerate() {
        by_listener.entry(unit_of(prepared, c)).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = by_listener.into_values().collect();
    let row = |name: &str, a: usize, b: usize, salt: u64| {
        let mean = |k: usize| ndcg.iter().map(|v| v[k]).sum::<f64>() / ndcg.len().max(1) as f64;
        let diffs: Vec<f64> = ndcg.iter().map(|v| v[b] - v[a]).collect();
        ContextRow {
            name: name.into(),
            session_only: mean(a),
            with_context: mean(b),
            diff: cluster_bootstrap(&diffs, &groups, config.bootstrap, config.seed + salt),
        }
    };
    let rows = vec![row("HR-S Q8_0", 0, 1, 1), row("linear, on-device features", 2, 3, 2)];
    let cases_with_context = alone.iter().zip(&with).filter(|(a, w)| w.prefix.len() > a.prefix.len()).count();
    Ok(MidTermReport {
        dataset: prepared.dataset.name.clone(),
        model_id: model.model_id.clone(),
        prior_events,
        cases: alone.len(),
        listeners: groups.len(),
        cases_with_context,
        rows,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The mean of `values` with a percentile interval from resampling whole `groups` (indices).
pub fn cluster_bootstrap(values: &[f64], groups: &[Vec<usize>], resamples: usize, seed: u64) -> Estimate {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n.max(1) as f64;
    if groups.len() < 2 || resamples == 0 {
        return Estimate { mean, lo: f64::NAN, hi: f64::NAN, n };
    }
    let mut rng = Rng::new(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let (mut sum, mut count) = (0.0, 0usize);
            for _ in 0..groups.len() {
                let g = &groups[rng.below(groups.len())];
                sum += g.iter().map(|&i| values[i]).sum::<f64>();
                count += g.len();
            }
            sum / count.max(1) as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    Estimate { mean, lo: quantile(&means, 0.025), hi: quantile(&means, 0.975), n }
}

impl MidTermReport {
    /// Markdown rows of one context size (the header is [`MidTermReport::table_header`]).
    pub fn table_rows(&self) -> String {
        self.rows
            .iter()
            .map(|r| {
                let d = &r.diff;
                let interval = if !(d.lo.is_finite() && d.hi.is_finite()) {
                    format!("{:+.4}, no interval ({} listener)", d.mean, self.listeners)
                } else {
                    let sig = if d.lo > 0.0 || d.hi < 0.0 { "" } else { " (n.s.)" };
                    format!("{:+.4} [{:+.4}, {:+.4}]{sig}", d.mean, d.lo, d.hi)
                };
                format!(
                    "| {} | {} | {} | {} / {} | {} | {:.4} | {:.4} | {interval} |\n",
                    self.dataset,
                    r.name,
                    self.prior_events,
                    self.cases_with_context,
                    self.cases,
                    self.listeners,
                    r.session_only,
                    r.with_context
                )
            })
            .collect()
    }

    /// The header of [`MidTermReport::table_rows`].
    pub fn table_header() -> &'static str {
        "| data | method | earlier events | cases with any / all | listeners | session only | with earlier events | Δ, 95 % listener bootstrap |\n|---|---|---|---|---|---|---|---|\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_bootstrap_is_wider_than_a_case_bootstrap_when_listeners_differ() {
        // Two listeners with opposite effects: cases within one agree, listeners disagree.
        let values: Vec<f64> = (0..40).map(|i| if i < 20 { 0.2 } else { -0.1 }).collect();
        let groups = vec![(0..20).collect::<Vec<_>>(), (20..40).collect()];
        let clustered = cluster_bootstrap(&values, &groups, 2000, 3);
        let per_case = super::super::metrics::bootstrap_mean(&values, 2000, 0.95, 3);
        assert!((clustered.mean - 0.05).abs() < 1e-12);
        assert!(clustered.hi - clustered.lo > 2.0 * (per_case.hi - per_case.lo), "{clustered:?} vs {per_case:?}");
        assert!(cluster_bootstrap(&values, &groups[..1], 100, 3).lo.is_nan(), "one listener: no interval");
    }
}
