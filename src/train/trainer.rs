//! Training HR-S with candle autograd: listwise softmax cross-entropy of the true next positive
//! over the server's candidate list, AdamW, early stopping on validation NDCG@10. Seeded:
//! initial weights and batch order come from [`Rng`], so a run is reproducible.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var, D};
use serde::{Deserialize, Serialize};
use web_time::Instant;

use super::checkpoint::{self, CheckpointState, CheckpointTensors};
use super::optimizer::{AdamW, AdamWParams};

use crate::error::{Error, Result};
use crate::eval::{metrics, CaseConfig, Part, Prepared, RankingCase};
use crate::features::{Features, SIM_FEATURES};
use crate::model::{Batch, HrsConfig, HrsModel, Precision, TensorKind, Weight};
use crate::rng::Rng;

/// Training hyper-parameters.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The architecture to train (default `homerank-s`).
    pub model: HrsConfig,
    /// Most passes over the training cases (default 12); early stopping may end sooner.
    pub epochs: usize,
    /// Lists per optimizer step (default 32).
    pub batch_size: usize,
    /// AdamW learning rate (default 1e-3).
    pub lr: f64,
    /// AdamW decoupled weight decay (default 0.01).
    pub weight_decay: f64,
    /// Epochs without a better validation NDCG@10 before stopping.
    pub patience: usize,
    /// Seeds the initial weights, the cases drawn and the batch order.
    pub seed: u64,
    /// Candidates per training list.
    pub n_cands: usize,
    /// Most training / validation cases drawn from each source.
    pub max_train_cases: usize,
    /// Most validation cases drawn from each source (default 1,500).
    pub max_valid_cases: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// When > 0, half of each source's training and validation cases put up to this many events
    /// of the listener's earlier sessions before the session (`CaseConfig::prior_events`), so the
    /// model learns to read a mid-term context and still ranks sessions alone.
    pub prior_events: usize,
    /// A directory to save a checkpoint to after every epoch (`super::checkpoint`).
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint` when there is one (a fresh run otherwise).
    pub resume: bool,
    /// Splits each batch into this many parts, whose gradients are computed on their own threads
    /// and summed (default 1: one graph per batch). The sum equals the whole batch's gradient up
    /// to rounding, so runs with another split differ in the last bits.
    pub batch_parts: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: HrsConfig::default(),
            epochs: 12,
            batch_size: 32,
            lr: 1e-3,
            weight_decay: 0.01,
            patience: 3,
            seed: 1,
            n_cands: 50,
            max_train_cases: 12_000,
            max_valid_cases: 1_500,
            progress: true,
            prior_events: 0,
            checkpoint: None,
            resume: false,
            batch_parts: 1,
        }
    }
}

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// From 1.
    pub epoch: usize,
    /// Mean loss over the epoch's batches (listwise cross-entropy plus the skip term).
    pub train_loss: f64,
    /// Mean validation NDCG@10 over the sources.
    pub valid_ndcg: f64,
}

/// The trained weights (best validation epoch) and the curve that led there.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Every tensor of the model by name (`HrsConfig::tensor_specs`), f32, from the best epoch.
    pub weights: HashMap<String, Tensor>,
    /// One entry per epoch run, in order.
    pub log: Vec<EpochLog>,
    /// The epoch whose weights these are (highest validation NDCG@10), from 1.
    pub best_epoch: usize,
    /// Training lists over all sources.
    pub n_train_cases: usize,
    /// Epochs this call ran (fewer than `log.len()` when it resumed a checkpoint).
    pub epochs_run: usize,
    /// Wall-clock seconds of those epochs' optimizer steps (forward, backward, update): with
    /// `epochs_run · n_train_cases`, the training throughput.
    pub step_seconds: f64,
}

struct Example {
    features: Features,
    target: usize,
    /// Candidates the listener skipped in this session.
    skipped: Vec<usize>,
}

impl Example {
    /// A drawn case of `part` with its features.
    fn of(p: &Prepared, part: Part, case: &RankingCase) -> Self {
        Example { features: p.features(part, case), target: case.target, skipped: case.skipped.clone() }
    }
}

/// Weight of the skip term in the loss.
const SKIP_WEIGHT: f64 = 0.5;
/// Tensors set from the training data and left alone by the optimizer.
const FIXED: [&str; 2] = ["sim.mean", "sim.scale"];

/// Mean and `1 / sd` of each similarity feature over the training candidates (`1` where a
/// feature is constant).
fn similarity_statistics(set: &[Example]) -> (Vec<f32>, Vec<f32>) {
    let (mut sum, mut sq, mut n) = ([0f64; SIM_FEATURES], [0f64; SIM_FEATURES], 0usize);
    for e in set {
        for row in e.features.cand_sim.chunks_exact(SIM_FEATURES) {
            for k in 0..SIM_FEATURES {
                sum[k] += row[k] as f64;
                sq[k] += (row[k] as f64).powi(2);
            }
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let scale = sq
        .iter()
        .zip(&sum)
        .map(|(q, s)| {
            let sd = (q / n - (s / n).powi(2)).max(0.0).sqrt();
            if sd > 1e-6 {
                (1.0 / sd) as f32
            } else {
                1.0
            }
        })
        .collect();
    (mean, scale)
}

/// The case draws `train` makes from source `source` (an index into its `sources`), in order:
/// the training window's, then the validation window's (each split in two halves, the second
/// with a mid-term context, when `prior_events` > 0).
pub fn case_draws(config: &TrainConfig, source: usize) -> Vec<(Part, CaseConfig)> {
    let rng = Rng::new(config.seed);
    let draw = |max: usize, stream: u64, prior_events: usize| CaseConfig {
        n_cands: Some(config.n_cands),
        max_events: config.model.max_events,
        per_session: 8,
        max_cases: max,
        seed: rng.fork(stream).next_u64(),
        prior_events,
        ..Default::default()
    };
    let mut draws = Vec::new();
    let k = source as u64;
    for (part, max, stream) in
        [(Part::Train, config.max_train_cases, 2 * k), (Part::Valid, config.max_valid_cases, 2 * k + 1)]
    {
        if config.prior_events == 0 {
            draws.push((part, draw(max, stream, 0)));
        } else {
            draws.push((part, draw(max / 2, stream, 0)));
            draws.push((part, draw(max - max / 2, stream + 1_000, config.prior_events)));
        }
    }
    draws
}

/// Trains on the training windows of `sources`, validating on their validation windows.
pub fn train(sources: &[Prepared], config: &TrainConfig) -> Result<TrainOutcome> {
    config.model.validate()?;
    let rng = Rng::new(config.seed);
    let mut train_set: Vec<Example> = Vec::new();
    let mut valid_sets: Vec<Vec<Example>> = Vec::new();
    for (k, p) in sources.iter().enumerate() {
        let mut valid = Vec::new();
        for (part, cc) in case_draws(config, k) {
            let examples = p.cases(part, &cc).iter().map(|c| Example::of(p, part, c)).collect::<Vec<_>>();
            match part {
                Part::Train => train_set.extend(examples),
                _ => valid.extend(examples),
            }
        }
        valid_sets.push(valid);
    }
    if train_set.is_empty() {
        return Err(Error::InvalidOptions("no training cases: the data has no positives after a first event".into()));
    }

    let vars = init_vars(&config.model, config.seed, &similarity_statistics(&train_set))?;
    let weights: HashMap<String, Weight> =
        vars.iter().map(|(k, v)| (k.clone(), Weight::Dense(v.as_tensor().clone()))).collect();
    let model = HrsModel::for_training(config.model.clone(), &weights)?;
    // The similarity features' normalization is fixed by the training data, not learned. The
    // optimizer's variables go in name order, so its state saves and restores by name.
    let mut trained: Vec<(String, Var)> =
        vars.iter().filter(|(k, _)| !FIXED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    trained.sort_by(|a, b| a.0.cmp(&b.0));
    let mut opt = AdamW::new(trained, AdamWParams::new(config.lr, config.weight_decay))?;

    let steps_per_epoch = train_set.len().div_ceil(config.batch_size);
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let mut shuffle_rng = rng.fork(1000);
    let mut log = Vec::new();
    let mut best: Option<(f64, usize, HashMap<String, Tensor>)> = None;
    let fingerprint = run_fingerprint(config, &train_set, &valid_sets);
    let mut first_epoch = 1;
    if let (Some(dir), true) = (&config.checkpoint, config.resume) {
        if let Some((state, tensors)) = checkpoint::load(dir)? {
            if state.fingerprint != fingerprint {
                return Err(Error::InvalidOptions(format!(
                    "the checkpoint in {} is of another run (configuration or data differ)",
                    dir.display()
                )));
            }
            restore(&vars, &mut opt, &state, &tensors)?;
            order = state.order.iter().map(|&i| i as usize).collect();
            shuffle_rng = Rng::from_state(state.shuffle_state);
            log = state.log;
            best = state.best.map(|(ndcg, epoch)| (ndcg, epoch, tensors.best));
            first_epoch = state.epoch + 1;
        }
    }
    let stopped = |log: &[EpochLog], best: &Option<(f64, usize, HashMap<String, Tensor>)>| {
        let last = log.last().map_or(0, |e| e.epoch);
        last > 0 && best.as_ref().is_some_and(|b| b.1 < last && last - b.1 >= config.patience)
    };
    let epochs_left = if stopped(&log, &best) { 0 } else { config.epochs.saturating_sub(first_epoch - 1) };
    let bar = progress_bar(config.progress, (steps_per_epoch * epochs_left) as u64);
    let (mut epochs_run, mut step_seconds) = (0, 0.0);
    for epoch in first_epoch..=config.epochs {
        if stopped(&log, &best) {
            break;
        }
        let batches = length_bucketed_batches(&mut order, &train_set, config.batch_size, &mut shuffle_rng);
        let mut loss_sum = 0.0;
        let started = Instant::now();
        for chunk in &batches {
            let examples: Vec<&Example> = chunk.iter().map(|&i| &train_set[i]).collect();
            let l = training_step(&model, &mut opt, &examples, config.batch_parts)?;
            loss_sum += l;
            if let Some(bar) = &bar {
                bar.set_message(format!("epoch {epoch} loss {l:.4}"));
                bar.inc(1);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        (epochs_run, step_seconds) = (epochs_run + 1, step_seconds + seconds);
        let snapshot: HashMap<String, Tensor> =
            vars.iter().map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?))).collect::<Result<_>>()?;
        let valid_ndcg = validation_ndcg(&config.model, &snapshot, &valid_sets)?;
        let entry = EpochLog { epoch, train_loss: loss_sum / steps_per_epoch as f64, valid_ndcg };
        let line = format!(
            "epoch {epoch}: train loss {:.4}, valid NDCG@10 {valid_ndcg:.4}, {:.0} examples/s",
            entry.train_loss,
            train_set.len() as f64 / seconds.max(1e-9)
        );
        match &bar {
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ if config.progress => eprintln!("{line}"),
            _ => {}
        }
        log.push(entry);
        if best.as_ref().is_none_or(|(b, _, _)| valid_ndcg > *b) {
            best = Some((valid_ndcg, epoch, snapshot.clone()));
        }
        if let Some(dir) = &config.checkpoint {
            let state = CheckpointState {
                fingerprint: fingerprint.clone(),
                epoch,
                steps: opt.steps(),
                shuffle_state: shuffle_rng.state(),
                order: order.iter().map(|&i| i as u32).collect(),
                log: log.clone(),
                best: best.as_ref().map(|b| (b.0, b.1)),
            };
            let tensors = CheckpointTensors {
                weights: snapshot,
                moments: opt.moments().map(|(k, m, v)| (k.to_owned(), (m.clone(), v.clone()))).collect(),
                best: best.as_ref().map(|b| b.2.clone()).unwrap_or_default(),
            };
            checkpoint::save(dir, state, &tensors)?;
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let (_, best_epoch, weights) = best.ok_or_else(|| {
        Error::InvalidOptions("no epoch ran: epochs is 0, or the checkpoint is already past it".into())
    })?;
    Ok(TrainOutcome { weights, log, best_epoch, n_train_cases: train_set.len(), epochs_run, step_seconds })
}

/// The run's identity: every option that changes its numbers (but the epoch count, which a
/// resumed run may raise), and the cases drawn.
fn run_fingerprint(config: &TrainConfig, train_set: &[Example], valid_sets: &[Vec<Example>]) -> String {
    let mut h = crate::rng::hash_str(&format!(
        "{:?} {} {} {} {} {} {} {} {} {}",
        config.model,
        config.batch_size,
        config.lr,
        config.weight_decay,
        config.patience,
        config.seed,
        config.n_cands,
        config.max_train_cases,
        config.max_valid_cases,
        config.prior_events
    ));
    for e in train_set.iter().chain(valid_sets.iter().flatten()) {
        for v in [e.target as u64, e.features.n_cands() as u64, e.features.n_events() as u64] {
            h = (h ^ v).wrapping_mul(0x0100_0000_01B3);
        }
    }
    format!("{h:016x} {} {:?}", train_set.len(), valid_sets.iter().map(Vec::len).collect::<Vec<_>>())
}

/// Sets the variables and the optimizer from a checkpoint.
fn restore(
    vars: &HashMap<String, Var>,
    opt: &mut AdamW,
    state: &CheckpointState,
    tensors: &CheckpointTensors,
) -> Result<()> {
    let bad = |what: &str| Error::InvalidOptions(format!("checkpoint: {what}"));
    for (name, var) in vars {
        let t = tensors.weights.get(name).ok_or_else(|| bad(&format!("no weights for {name}")))?;
        if t.shape() != var.shape() {
            return Err(bad(&format!("{name} has another shape")));
        }
        var.set(t)?;
    }
    opt.restore(state.steps, |name, first| {
        let (m, v) = tensors.moments.get(name).ok_or_else(|| bad(&format!("no moments for {name}")))?;
        Ok(if first { m.clone() } else { v.clone() })
    })
}

/// Shuffles, then sorts windows of 16 batches by session length before cutting batches, and
/// shuffles the batches: each batch pads to a similar length (padding is most of the cost when
/// short and long sessions mix), while batch order stays random.
fn length_bucketed_batches(order: &mut [usize], set: &[Example], batch: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    rng.shuffle(order);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for window in order.chunks_mut(batch * 16) {
        window.sort_by_key(|&i| (set[i].features.n_events(), i));
        batches.extend(window.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

/// One optimizer step on `examples`, computed in `parts` parts on as many threads; returns the
/// batch's loss.
fn training_step(model: &HrsModel, opt: &mut AdamW, examples: &[&Example], parts: usize) -> Result<f64> {
    let scale = LossScale::of(examples);
    if parts <= 1 || examples.len() < 2 {
        let loss = batch_loss(model, examples, scale)?;
        opt.backward_step(&loss)?;
        return Ok(loss.to_scalar::<f32>()? as f64);
    }
    let size = examples.len().div_ceil(parts);
    let results: Vec<Result<(GradStore, f64)>> = std::thread::scope(|s| {
        let threads: Vec<_> = examples
            .chunks(size)
            .map(|part| {
                s.spawn(move || -> Result<(GradStore, f64)> {
                    let loss = batch_loss(model, part, scale)?;
                    Ok((loss.backward()?, loss.to_scalar::<f32>()? as f64))
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| Err(Error::Internal("a training thread panicked".into()))))
            .collect()
    });
    let (grads, losses): (Vec<GradStore>, Vec<f64>) =
        results.into_iter().collect::<Result<Vec<_>>>()?.into_iter().unzip();
    opt.step(&grads)?;
    Ok(losses.iter().sum())
}

/// The normalizers of a batch's loss, fixed by the whole batch so that its parts' losses add up
/// to it: lists in the batch, and lists with a skip term.
#[derive(Debug, Clone, Copy)]
struct LossScale {
    lists: usize,
    skip_lists: usize,
}

impl LossScale {
    fn of(examples: &[&Example]) -> Self {
        let skip_lists = examples.iter().filter(|e| has_skip_term(e)).count();
        LossScale { lists: examples.len(), skip_lists }
    }
}

/// Whether a list adds to the skip term: skipped candidates and at least one other besides the
/// target.
fn has_skip_term(e: &Example) -> bool {
    !e.skipped.is_empty() && e.features.n_cands() > e.skipped.len() + 1
}

/// Mean over the batch of −log softmax(score)[target] (padding masked out), plus a skip term:
/// for lists with skipped candidates, softplus(mean skipped score − mean other score + 1). The
/// listwise term alone only asks for the target on top; the skip term says outright that what the
/// listener skipped belongs below the rest, which is what a skip on Home should do.
fn batch_loss(model: &HrsModel, examples: &[&Example], scale: LossScale) -> Result<Tensor> {
    let feats: Vec<&Features> = examples.iter().map(|e| &e.features).collect();
    let batch = Batch::new(model, &feats)?;
    let scores = batch.forward(model)?;
    let (b, n) = scores.dims2()?;
    let mask = batch.masks.cands.as_ref().expect("batches carry a candidate mask");
    let logits = (&scores + ((mask - 1.0)? * 1e9)?)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let mut onehot = vec![0f32; b * n];
    for (r, e) in examples.iter().enumerate() {
        onehot[r * n + e.target] = 1.0;
    }
    let onehot = Tensor::from_vec(onehot, (b, n), &Device::Cpu)?;
    let listwise = (logp * onehot)?.sum_all()?.affine(-1.0 / scale.lists as f64, 0.0)?;

    // Row weights: +1/|skipped| on skipped candidates, −1/|others| on the rest of the real list.
    let mut contrast = vec![0f32; b * n];
    let mut rows = 0usize;
    for (r, e) in examples.iter().enumerate() {
        if !has_skip_term(e) {
            continue;
        }
        rows += 1;
        let len = e.features.n_cands();
        let others = len - (e.skipped.len() + 1);
        for k in 0..len {
            contrast[r * n + k] = if e.skipped.contains(&k) {
                1.0 / e.skipped.len() as f32
            } else if k == e.target {
                0.0
            } else {
                -1.0 / others as f32
            };
        }
    }
    if rows == 0 {
        return Ok(listwise);
    }
    let contrast = Tensor::from_vec(contrast, (b, n), &Device::Cpu)?;
    // Padding carries zero weight in `contrast`, so the raw scores can be used.
    let gap = ((&scores * contrast)?.sum(1)? + 1.0)?;
    let has_skips =
        Tensor::from_vec(examples.iter().map(|e| has_skip_term(e) as u8 as f32).collect(), b, &Device::Cpu)?;
    let softplus = (gap.exp()? + 1.0)?.log()?;
    let skip = (softplus * has_skips)?.sum_all()?.affine(SKIP_WEIGHT / scale.skip_lists as f64, 0.0)?;
    Ok((listwise + skip)?)
}

fn validation_ndcg(config: &HrsConfig, weights: &HashMap<String, Tensor>, sets: &[Vec<Example>]) -> Result<f64> {
    let w: HashMap<String, Weight> = weights.iter().map(|(k, t)| (k.clone(), Weight::Dense(t.clone()))).collect();
    let model = HrsModel::from_weights(config.clone(), &w, Precision::F32)?;
    let mut means = Vec::new();
    for set in sets.iter().filter(|s| !s.is_empty()) {
        let feats: Vec<Features> = set.iter().map(|e| e.features.clone()).collect();
        let scores = model.score_many(&feats, 64)?;
        let total: f64 = set
            .iter()
            .zip(&scores)
            .map(|(e, s)| metrics::ndcg_at(metrics::rank_of(&metrics::order_by(s), e.target), 10))
            .sum();
        means.push(total / set.len() as f64);
    }
    Ok(if means.is_empty() { 0.0 } else { means.iter().sum::<f64>() / means.len() as f64 })
}

/// Seeded initial weights: scaled normal matmuls (output projections shrunk for the residual
/// stream), small tables, unit LayerNorm gains, and a head that starts as the server order
/// (`w_server` = 1, tiny output weights, `w_sim` = 0), so training begins from "do no harm";
/// the similarity normalization from the training data (`sim_stats`: mean and 1/sd).
fn init_vars(config: &HrsConfig, seed: u64, sim_stats: &(Vec<f32>, Vec<f32>)) -> Result<HashMap<String, Var>> {
    let mut rng = Rng::new(seed).fork(7);
    let depth_scale = 1.0 / ((2 * (config.n_session_layers + config.n_cand_layers)) as f64).sqrt();
    config
        .tensor_specs()
        .into_iter()
        .map(|spec| {
            let n: usize = spec.shape.iter().product();
            let name = spec.name.as_str();
            let (mean, std) = match spec.kind {
                TensorKind::Matmul => {
                    let base = 1.0 / (spec.shape[1] as f64).sqrt();
                    let residual_out = name.ends_with(".o.w") || name.ends_with(".fc2.w");
                    (0.0, if residual_out { base * depth_scale } else { base })
                }
                TensorKind::Plain if name == "head.w_server" => (1.0, 0.0),
                TensorKind::Plain if name == "head.out.w" => (0.0, 0.01),
                TensorKind::Plain if name == "head.w_sim" => (0.0, 0.0),
                TensorKind::Plain if name.starts_with("embed.") => (0.0, 0.1),
                TensorKind::Plain if name.ends_with(".g") => (1.0, 0.0),
                TensorKind::Plain => (0.0, 0.0),
            };
            let mut values: Vec<f32> = (0..n).map(|_| (mean + std * rng.normal()) as f32).collect();
            match name {
                "sim.mean" => values.clone_from(&sim_stats.0),
                "sim.scale" => values.clone_from(&sim_stats.1),
                _ => {}
            }
            let t = Tensor::from_vec(values, spec.shape.as_slice(), &Device::Cpu)?.to_dtype(DType::F32)?;
            Ok((spec.name, Var::from_tensor(&t)?))
        })
        .collect()
}

fn progress_bar(enabled: bool, steps: u64) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} batches, {msg}, ETA {eta}")
            .expect("a valid template"),
    );
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{simulate, SimConfig};

    /// The gradients of a batch's parts, each loss normalized by the whole batch, sum to the
    /// whole batch's gradient, skip term included.
    #[test]
    fn parts_gradients_sum_to_the_whole_batch_gradient() {
        let config = TrainConfig { max_train_cases: 48, n_cands: 12, progress: false, ..Default::default() };
        let prepared = Prepared::new(simulate(&SimConfig { n_users: 40, seed: 3, ..Default::default() }), 32);
        let (part, cc) = case_draws(&config, 0).into_iter().next().unwrap();
        let examples: Vec<Example> =
            prepared.cases(part, &cc).iter().map(|c| Example::of(&prepared, part, c)).collect();
        assert!(examples.len() >= 24 && examples.iter().any(has_skip_term), "{} cases", examples.len());
        let vars = init_vars(&config.model, 1, &similarity_statistics(&examples)).unwrap();
        // Weights away from the "server order" start, so that every tensor has a gradient.
        let mut rng = Rng::new(9);
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        for v in names.into_iter().map(|k| &vars[k]) {
            let noise: Vec<f32> = (0..v.elem_count()).map(|_| 0.05 * rng.normal() as f32).collect();
            let noise = Tensor::from_vec(noise, v.shape(), &Device::Cpu).unwrap();
            v.set(&(v.as_tensor() + noise).unwrap()).unwrap();
        }
        let weights: HashMap<String, Weight> =
            vars.iter().map(|(k, v)| (k.clone(), Weight::Dense(v.as_tensor().clone()))).collect();
        let model = HrsModel::for_training(config.model.clone(), &weights).unwrap();
        let batch: Vec<&Example> = examples.iter().take(24).collect();
        let scale = LossScale::of(&batch);
        let whole = batch_loss(&model, &batch, scale).unwrap();
        let parts: Vec<Tensor> = batch.chunks(9).map(|p| batch_loss(&model, p, scale).unwrap()).collect();
        let part_sum: f32 = parts.iter().map(|l| l.to_scalar::<f32>().unwrap()).sum();
        assert!((whole.to_scalar::<f32>().unwrap() - part_sum).abs() < 1e-5);
        let g_whole = whole.backward().unwrap();
        let g_parts: Vec<GradStore> = parts.iter().map(|l| l.backward().unwrap()).collect();
        let flat = |g: &Tensor| g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // Some gradients are zero up to rounding (the output bias: softmax gradients sum to 0
        // per list); they are compared at the scale of the largest gradient of the model.
        let largest = vars
            .iter()
            .filter(|(k, _)| !FIXED.contains(&k.as_str()))
            .flat_map(|(_, v)| flat(g_whole.get(v).unwrap()))
            .fold(0f32, |m, x| m.max(x.abs()));
        for (name, var) in &vars {
            if FIXED.contains(&name.as_str()) {
                continue;
            }
            let a = flat(g_whole.get(var).unwrap());
            let mut b = vec![0f32; a.len()];
            for g in &g_parts {
                b.iter_mut().zip(flat(g.get(var).unwrap())).for_each(|(s, x)| *s += x);
            }
            let scale = a.iter().map(|x| x.abs()).fold(0f32, f32::max).max(1e-2 * largest);
            let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(diff <= 1e-4 * scale, "{name}: {diff} against a gradient scale of {scale}");
        }
    }
}
