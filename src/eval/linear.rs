//! The linear floor: a listwise (softmax cross-entropy) linear model over the on-device inputs
//! — the candidate's similarity features (`features::similarity`) and its server score — fitted
//! by full-batch gradient descent on the training cases. It sees exactly what HR-S sees apart
//! from the raw embeddings, so a transformer that does not beat it has not earned its cost.

use crate::features::{Features, SIM_FEATURES};

/// Inputs per candidate: the similarity features, then the server score.
pub const LINEAR_INPUTS: usize = SIM_FEATURES + 1;
const EPOCHS: usize = 300;
const LEARNING_RATE: f64 = 0.1;

/// A fitted linear scorer.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    mean: Vec<f64>,
    inv_sd: Vec<f64>,
    /// One weight per input ([`LINEAR_INPUTS`]), over inputs standardized with the training
    /// cases' mean and standard deviation.
    pub weights: Vec<f64>,
}

/// The model's input rows of one list, `[n_cands, LINEAR_INPUTS]`.
pub fn linear_inputs(f: &Features) -> Vec<f64> {
    (0..f.n_cands())
        .flat_map(|i| {
            f.cand_sim[i * SIM_FEATURES..(i + 1) * SIM_FEATURES]
                .iter()
                .map(|&v| v as f64)
                .chain(std::iter::once(f.server_score[i] as f64))
        })
        .collect()
}

impl LinearModel {
    /// Fits on lists `(inputs, target index)`; deterministic.
    pub fn fit(lists: &[(Vec<f64>, usize)]) -> Self {
        let k = LINEAR_INPUTS;
        let rows: usize = lists.iter().map(|(x, _)| x.len() / k).sum();
        let mut mean = vec![0.0; k];
        let mut sq = vec![0.0; k];
        for (x, _) in lists {
            for row in x.chunks_exact(k) {
                for j in 0..k {
                    mean[j] += row[j];
                    sq[j] += row[j] * row[j];
                }
            }
        }
        let n = rows.max(1) as f64;
        mean.iter_mut().for_each(|m| *m /= n);
        let inv_sd: Vec<f64> =
            sq.iter().zip(&mean).map(|(s, m)| 1.0 / ((s / n - m * m).max(0.0).sqrt() + 1e-6)).collect();
        let mut model = LinearModel { mean, inv_sd, weights: vec![0.0; k] };
        if lists.is_empty() {
            return model;
        }
        let standardized: Vec<(Vec<f64>, usize)> = lists.iter().map(|(x, t)| (model.standardize(x), *t)).collect();
        for _ in 0..EPOCHS {
            let mut grad = vec![0.0; k];
            for (z, t) in &standardized {
                let s: Vec<f64> = z.chunks_exact(k).map(|row| dot(row, &model.weights)).collect();
                let max = s.iter().copied().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|v| (v - max).exp()).collect();
                let total: f64 = e.iter().sum();
                for (i, row) in z.chunks_exact(k).enumerate() {
                    let p = e[i] / total - (i == *t) as u8 as f64;
                    grad.iter_mut().zip(row).for_each(|(g, x)| *g += p * x);
                }
            }
            let scale = LEARNING_RATE / lists.len() as f64;
            model.weights.iter_mut().zip(&grad).for_each(|(w, g)| *w -= scale * g);
        }
        model
    }

    fn standardize(&self, x: &[f64]) -> Vec<f64> {
        x.chunks_exact(LINEAR_INPUTS)
            .flat_map(|row| row.iter().zip(&self.mean).zip(&self.inv_sd).map(|((v, m), s)| (v - m) * s))
            .collect()
    }

    /// Scores of one list's inputs.
    pub fn scores(&self, inputs: &[f64]) -> Vec<f32> {
        self.standardize(inputs).chunks_exact(LINEAR_INPUTS).map(|row| dot(row, &self.weights) as f32).collect()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
