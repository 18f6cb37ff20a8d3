//! Server item embeddings for data that has none: how the simulator, the demo and the offline
//! datasets give every item the `embedding` a real server would send.
//!
//! An embedding is the unit-normalized *sum* of up to three unit vectors of the full width:
//! * identity `r(id)`: pseudo-random, seeded by the item id;
//! * content: the item's content features through a fixed random projection (when it has any);
//! * collaborative: the normalized sum of the identity vectors of the items it co-occurs with in
//!   training sessions (when known; see `eval::embed`).
//!
//! Superposed rather than concatenated, the plain dot product of two embeddings carries all the
//! signals a session reranker needs: ≈1 for the same item again, the content similarity, and —
//! because a co-occurrence vector is built from the very identity vectors it is compared with —
//! first-order co-occurrence (`r(c) · collab(p)` ≈ how often c followed p), the item-kNN signal.
//! Random 32-dim vectors cross-talk at about 1/√32; that noise is the price of a fixed width.

use crate::rng::{hash_str, Rng};

/// The identity part: a unit vector from the id's hash.
pub fn identity_vector(id: &str, dim: usize) -> Vec<f32> {
    let mut rng = Rng::new(hash_str(id));
    let v: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
    unit(v)
}

/// A fixed random projection from `from` content features to `to` values.
pub struct ContentProjection {
    from: usize,
    to: usize,
    matrix: Vec<f32>,
}

impl ContentProjection {
    /// The projection for `from` features to `to` values; the same `from` always gives the same
    /// matrix (the seed depends only on it), so embeddings agree across runs and targets.
    pub fn new(from: usize, to: usize) -> Self {
        let mut rng = Rng::new(0xC0DE_0000 + from as u64);
        let scale = 1.0 / (to.max(1) as f64).sqrt();
        let matrix = (0..from * to).map(|_| (rng.normal() * scale) as f32).collect();
        ContentProjection { from, to, matrix }
    }

    /// The projected, unit-normalized content (zero for all-zero content).
    pub fn project(&self, content: &[f32]) -> Vec<f32> {
        debug_assert_eq!(content.len(), self.from);
        let mut out = vec![0f32; self.to];
        for (i, &x) in content.iter().enumerate() {
            if x != 0.0 {
                let row = &self.matrix[i * self.to..(i + 1) * self.to];
                out.iter_mut().zip(row).for_each(|(o, w)| *o += x * w);
            }
        }
        unit(out)
    }
}

/// One item's embedding: identity + projected content + collaborative vector, each unit (or
/// zero), summed and normalized.
pub fn item_embedding(id: &str, projected_content: &[f32], collaborative: &[f32]) -> Vec<f32> {
    let dim = projected_content.len();
    debug_assert_eq!(collaborative.len(), dim);
    let collab = unit(collaborative.to_vec());
    let sum: Vec<f32> =
        identity_vector(id, dim).iter().zip(projected_content).zip(&collab).map(|((a, b), c)| a + b + c).collect();
    unit(sum)
}

/// Embeddings of every catalogue item from id and content only (no collaborative part): what
/// the simulator and the demo use. Row-major, `dim` values per item.
pub fn content_embeddings(catalog: &crate::dataset::Catalog, dim: usize) -> Vec<f32> {
    let projection = ContentProjection::new(catalog.content_dim, dim);
    let zeros = vec![0f32; dim];
    let mut out = Vec::with_capacity(catalog.len() * dim);
    for (i, id) in catalog.ids.iter().enumerate() {
        let content =
            if catalog.content_dim > 0 { projection.project(catalog.content_of(i as u32)) } else { zeros.clone() };
        out.extend(item_embedding(id, &content, &zeros));
    }
    out
}

/// `v` scaled to unit L2 norm; a zero vector stays zero.
pub fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_stable_and_co_occurrence_shows_in_the_dot_product() {
        assert_eq!(identity_vector("track:1", 32), identity_vector("track:1", 32));
        assert_ne!(identity_vector("track:1", 32), identity_vector("track:2", 32));
        let zeros = vec![0f32; 32];
        let a = item_embedding("a", &zeros, &zeros);
        let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        // "b" co-occurred with "a": b's collaborative vector is a's identity.
        let b = item_embedding("b", &zeros, &identity_vector("a", 32));
        let c = item_embedding("c", &zeros, &identity_vector("z", 32));
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!(dot(&a, &b) > 0.6, "{}", dot(&a, &b));
        assert!(dot(&a, &c).abs() < 0.5);
    }
}
