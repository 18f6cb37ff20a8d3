//! Server embeddings for offline datasets: what a real server would send with each item,
//! fitted on a history window only (see `split`).
//!
//! * [`EmbeddingKind::Learned`] (the default): truncated SVD of the positive-PMI co-occurrence
//!   matrix of the history (`svd::ppmi_embeddings`), the classic factorization of item2vec's
//!   objective (Levy & Goldberg 2014). Items the history never saw get a zero vector.
//! * [`EmbeddingKind::Codes`]: the superposed random codes of `crate::embedding` (identity +
//!   content + the sum of co-occurring items' identities) — the earlier scheme, kept for
//!   comparison; in 32 dimensions its co-occurrence part drowns in cross-talk.
//!
//! Datasets marked `content_only` (the simulator) always use content codes: the demo computes
//! the same vectors in the browser.
//!
//! A refit on a longer history gives a new basis; a server keeps the space its clients' models
//! were trained in by aligning the refit to the previous fit ([`ItemEmbeddings::aligned_to`],
//! orthogonal Procrustes over the items both know).

use super::cooccur::CoOccurrence;
use super::svd::{jacobi_eigen, ppmi_embeddings};
use crate::dataset::Dataset;
use crate::embedding::{content_embeddings, identity_vector, item_embedding, ContentProjection};

/// Co-occurrence window (events either side) of the random-code collaborative part.
const WINDOW: usize = 5;
/// Seed of the learned embeddings' SVD.
const SVD_SEED: u64 = 0x5EED_0E4B;

/// How item embeddings are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbeddingKind {
    /// Truncated SVD of the history's PPMI co-occurrence matrix (`learned` or `svd` on the
    /// command line); unseen items get zeros.
    #[default]
    Learned,
    /// Superposed random codes: identity + content + co-occurring identities (`codes`).
    Codes,
}

impl std::str::FromStr for EmbeddingKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "learned" | "svd" => Ok(EmbeddingKind::Learned),
            "codes" => Ok(EmbeddingKind::Codes),
            other => Err(format!("embedding kind must be learned or codes, got '{other}'")),
        }
    }
}

/// One embedding per catalogue item, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemEmbeddings {
    /// Values per embedding.
    pub dim: usize,
    /// `dim` values per catalogue item, in catalogue order.
    pub values: Vec<f32>,
}

impl ItemEmbeddings {
    /// The embedding of catalogue item `item` (`dim` values).
    pub fn of(&self, item: u32) -> &[f32] {
        &self.values[item as usize * self.dim..(item as usize + 1) * self.dim]
    }

    /// Embeddings of every item from the `history` sessions (and item content, for codes).
    pub fn build(dataset: &Dataset, history: &[usize], dim: usize, kind: EmbeddingKind) -> Self {
        Self::build_with(dataset, history, &CoOccurrence::fit(dataset, history), dim, kind)
    }

    /// [`ItemEmbeddings::build`] reusing the history's co-occurrence counts.
    pub fn build_with(
        dataset: &Dataset,
        history: &[usize],
        co: &CoOccurrence,
        dim: usize,
        kind: EmbeddingKind,
    ) -> Self {
        if dataset.content_only {
            return ItemEmbeddings { dim, values: content_embeddings(&dataset.catalog, dim) };
        }
        match kind {
            EmbeddingKind::Learned => {
                let mut values = ppmi_embeddings(co, dim, SVD_SEED);
                values.resize(dataset.catalog.len() * dim, 0.0);
                ItemEmbeddings { dim, values }
            }
            EmbeddingKind::Codes => Self::codes(dataset, history, dim),
        }
    }

    fn codes(dataset: &Dataset, history: &[usize], dim: usize) -> Self {
        let catalog = &dataset.catalog;
        let index: Vec<Vec<f32>> = catalog.ids.iter().map(|id| identity_vector(id, dim)).collect();
        let mut collab = vec![0f32; catalog.len() * dim];
        for &s in history {
            let items: Vec<u32> = dataset.sessions[s].events.iter().map(|e| e.item).collect();
            for (p, &i) in items.iter().enumerate() {
                let lo = p.saturating_sub(WINDOW);
                let hi = (p + WINDOW + 1).min(items.len());
                for &j in &items[lo..hi] {
                    if j != i {
                        let row = &mut collab[i as usize * dim..(i as usize + 1) * dim];
                        row.iter_mut().zip(&index[j as usize]).for_each(|(r, x)| *r += x);
                    }
                }
            }
        }
        let projection = ContentProjection::new(catalog.content_dim, dim);
        let mut values = Vec::with_capacity(catalog.len() * dim);
        for (i, id) in catalog.ids.iter().enumerate() {
            let content =
                if catalog.content_dim > 0 { projection.project(catalog.content_of(i as u32)) } else { vec![0.0; dim] };
            values.extend(item_embedding(id, &content, &collab[i * dim..(i + 1) * dim]));
        }
        ItemEmbeddings { dim, values }
    }

    /// These embeddings rotated into `reference`'s basis: the orthogonal `R` minimizing
    /// ‖self·R − reference‖ over the items non-zero in both (orthogonal Procrustes,
    /// `R = M (MᵀM)^−½` with `M = selfᵀ·reference`). Cosines between items are unchanged.
    pub fn aligned_to(&self, reference: &ItemEmbeddings) -> ItemEmbeddings {
        let d = self.dim;
        if reference.dim != d || self.values == reference.values {
            return self.clone();
        }
        let mut m = vec![0f64; d * d];
        let n = (self.values.len() / d.max(1)).min(reference.values.len() / d.max(1));
        for i in 0..n as u32 {
            let (a, b) = (self.of(i), reference.of(i));
            if a.iter().all(|&v| v == 0.0) || b.iter().all(|&v| v == 0.0) {
                continue;
            }
            for (r, &x) in a.iter().enumerate() {
                for (c, &y) in b.iter().enumerate() {
                    m[r * d + c] += x as f64 * y as f64;
                }
            }
        }
        // MᵀM = V Λ Vᵀ → (MᵀM)^−½ = V Λ^−½ Vᵀ (directions with λ ≈ 0 dropped).
        let mut mtm = vec![0f64; d * d];
        for r in 0..d {
            for c in 0..d {
                mtm[r * d + c] = (0..d).map(|k| m[k * d + r] * m[k * d + c]).sum();
            }
        }
        let (lambda, v) = jacobi_eigen(mtm, d);
        let top = lambda.iter().copied().fold(0.0, f64::max);
        let mut inv_sqrt = vec![0f64; d * d];
        for (e, &l) in lambda.iter().enumerate() {
            if l > top * 1e-12 && l > 0.0 {
                let s = 1.0 / l.sqrt();
                for r in 0..d {
                    for c in 0..d {
                        inv_sqrt[r * d + c] += v[r * d + e] * s * v[c * d + e];
                    }
                }
            }
        }
        let mut rot = vec![0f64; d * d];
        for r in 0..d {
            for c in 0..d {
                rot[r * d + c] = (0..d).map(|k| m[r * d + k] * inv_sqrt[k * d + c]).sum();
            }
        }
        let values = self
            .values
            .chunks_exact(d)
            .flat_map(|row| {
                let rot = &rot;
                (0..d).map(move |c| row.iter().enumerate().map(|(k, &x)| x as f64 * rot[k * d + c]).sum::<f64>() as f32)
            })
            .collect();
        ItemEmbeddings { dim: d, values }
    }
}
