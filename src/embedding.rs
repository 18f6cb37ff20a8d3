//! Server item embeddings for data that has none: how the simulator, the demo and the offline
//! datasets give every item the `embedding` a real server would send.
//!
//! An embedding of `dim` values (a multiple of 4, at least 8) is three concatenated parts:
//! * identity (a quarter of `dim`): a pseudo-random unit vector seeded by the item id, so the
//!   model can tell "the same item again" from "a similar item";
//! * content (three eighths): the item's content features through a fixed random projection
//!   (seeded by the feature count), unit-normalized — zero when there are none;
//! * collaborative (the rest): the caller's co-occurrence vector, unit-normalized — zero when
//!   there is none (see `eval::embed` for how offline datasets build it).
//!
//! Identity is scaled by 0.5 so that similarity in content or behaviour dominates.

use crate::rng::{hash_str, Rng};

/// Sizes of the three parts for a given total dimension.
pub fn parts(dim: usize) -> (usize, usize, usize) {
    let identity = dim / 4;
    let content = dim * 3 / 8;
    (identity, content, dim - identity - content)
}

/// The identity part: a unit vector from the id's hash.
pub fn identity_vector(id: &str, len: usize) -> Vec<f32> {
    let mut rng = Rng::new(hash_str(id));
    let v: Vec<f32> = (0..len).map(|_| rng.normal() as f32).collect();
    unit(v)
}

/// A fixed random projection from `from` content features to `to` values.
pub struct ContentProjection {
    from: usize,
    to: usize,
    matrix: Vec<f32>,
}

impl ContentProjection {
    pub fn new(from: usize, to: usize) -> Self {
        let mut rng = Rng::new(0xC0DE_0000 + from as u64);
        let scale = 1.0 / (to.max(1) as f64).sqrt();
        let matrix = (0..from * to).map(|_| (rng.normal() * scale) as f32).collect();
        ContentProjection { from, to, matrix }
    }

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

/// Builds one item's embedding from its id, projected content and co-occurrence vector.
pub fn item_embedding(id: &str, projected_content: &[f32], collaborative: &[f32], dim: usize) -> Vec<f32> {
    let (n_id, n_content, n_collab) = parts(dim);
    debug_assert_eq!(projected_content.len(), n_content);
    debug_assert_eq!(collaborative.len(), n_collab);
    let mut out = Vec::with_capacity(dim);
    out.extend(identity_vector(id, n_id).into_iter().map(|v| 0.5 * v));
    out.extend_from_slice(projected_content);
    out.extend(unit(collaborative.to_vec()));
    out
}

/// Embeddings of every catalogue item from id and content only (the collaborative part zero):
/// what the simulator and the demo use. Row-major, `dim` values per item.
pub fn content_embeddings(catalog: &crate::dataset::Catalog, dim: usize) -> Vec<f32> {
    let (_, n_content, n_collab) = parts(dim);
    let projection = ContentProjection::new(catalog.content_dim, n_content);
    let zeros = vec![0f32; n_collab];
    let mut out = Vec::with_capacity(catalog.len() * dim);
    for (i, id) in catalog.ids.iter().enumerate() {
        let content = if catalog.content_dim > 0 { projection.project(catalog.content_of(i as u32)) } else { vec![0.0; n_content] };
        out.extend(item_embedding(id, &content, &zeros, dim));
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
    fn parts_add_up_and_identity_is_stable() {
        assert_eq!(parts(32), (8, 12, 12));
        assert_eq!(identity_vector("track:1", 8), identity_vector("track:1", 8));
        assert_ne!(identity_vector("track:1", 8), identity_vector("track:2", 8));
        let e = item_embedding("x", &vec![0.0; 12], &vec![0.0; 12], 32);
        assert_eq!(e.len(), 32);
        let norm: f32 = e.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 0.5).abs() < 1e-5);
    }
}
