//! Padding a list of [`Features`] into one batch: tensors `[B, T, …]` plus masks.

use candle_core::{Device, Tensor};

use super::hrs::{HrsModel, Masks};
use crate::error::Result;
use crate::features::{Features, SIM_FEATURES};

/// Batched, padded model inputs.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Session tokens `[B, L + 1, d]`: the start token, then the events (zero-padded).
    pub session: Tensor,
    /// Candidate tokens `[B, N, d]`, page order (padded).
    pub cands: Tensor,
    /// Server scores `[B, N]` (0 in padding).
    pub server: Tensor,
    /// Normalized similarity features `[B, N, F]` (padding rows hold the normalized zero).
    pub sim_z: Tensor,
    /// Which session and candidate positions are real (1) or padding (0).
    pub masks: Masks,
    /// Real candidate count of each row.
    pub lens: Vec<usize>,
}

impl Batch {
    /// Pads `items` (each with ≥ 1 event) to the longest session and candidate list.
    pub fn new(model: &HrsModel, items: &[&Features]) -> Result<Self> {
        let dev = &Device::Cpu;
        let b = items.len();
        let e = model.config().embedding_dim;
        let l = items.iter().map(|f| f.n_events()).max().unwrap_or(0).max(1);
        let n = items.iter().map(|f| f.n_cands()).max().unwrap_or(0).max(1);
        let mut ev_emb = vec![0f32; b * l * e];
        let mut ev_ids = [vec![0u32; b * l], vec![0u32; b * l], vec![0u32; b * l], vec![0u32; b * l]];
        let mut ev_mask = vec![0f32; b * (l + 1)];
        let mut c_emb = vec![0f32; b * n * e];
        let mut c_ids = [vec![0u32; b * n], vec![0u32; b * n], vec![0u32; b * n]];
        let mut c_mask = vec![0f32; b * n];
        let mut server = vec![0f32; b * n];
        let mut sim = vec![0f32; b * n * SIM_FEATURES];
        for (r, f) in items.iter().enumerate() {
            let (fl, fn_) = (f.n_events(), f.n_cands());
            ev_emb[r * l * e..r * l * e + fl * e].copy_from_slice(&f.event_embeddings);
            for (dst, src) in ev_ids.iter_mut().zip([&f.event_action, &f.event_dwell, &f.event_recency, &f.event_type])
            {
                dst[r * l..r * l + fl].copy_from_slice(src);
            }
            // One more column than events: the session-start token, always present.
            ev_mask[r * (l + 1)..r * (l + 1) + fl + 1].iter_mut().for_each(|m| *m = 1.0);
            c_emb[r * n * e..r * n * e + fn_ * e].copy_from_slice(&f.cand_embeddings);
            for (dst, src) in c_ids.iter_mut().zip([&f.cand_type, &f.cand_rank, &f.cand_shelf]) {
                dst[r * n..r * n + fn_].copy_from_slice(src);
            }
            c_mask[r * n..r * n + fn_].iter_mut().for_each(|m| *m = 1.0);
            server[r * n..r * n + fn_].copy_from_slice(&f.server_score);
            sim[r * n * SIM_FEATURES..(r * n + fn_) * SIM_FEATURES].copy_from_slice(&f.cand_sim);
        }
        let ids = |v: &[u32], t: usize| Tensor::from_slice(v, (b, t), dev);
        let session = model.embed_events(
            &Tensor::from_vec(ev_emb, (b, l, e), dev)?,
            &ids(&ev_ids[0], l)?,
            &ids(&ev_ids[1], l)?,
            &ids(&ev_ids[2], l)?,
            &ids(&ev_ids[3], l)?,
        )?;
        let sim_z = model.normalize_similarity(&Tensor::from_vec(sim, (b, n, SIM_FEATURES), dev)?)?;
        let cands = model.embed_candidates(
            &Tensor::from_vec(c_emb, (b, n, e), dev)?,
            &ids(&c_ids[0], n)?,
            &ids(&c_ids[1], n)?,
            &ids(&c_ids[2], n)?,
            &sim_z,
        )?;
        Ok(Batch {
            session,
            cands,
            server: Tensor::from_vec(server, (b, n), dev)?,
            sim_z,
            masks: Masks {
                session: Some(Tensor::from_vec(ev_mask, (b, l + 1), dev)?),
                cands: Some(Tensor::from_vec(c_mask, (b, n), dev)?),
            },
            lens: items.iter().map(|f| f.n_cands()).collect(),
        })
    }

    /// Scores `[B, N]` of the batch.
    pub fn forward(&self, model: &HrsModel) -> Result<Tensor> {
        Ok((model.forward_core(&self.session, &self.cands, &self.server, &self.masks)?
            + model.similarity_term(&self.sim_z)?)?)
    }
}

impl HrsModel {
    /// Scores many feature sets, `batch_size` at a time; one score vector per input.
    pub fn score_many(&self, items: &[Features], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(batch_size.max(1)) {
            let refs: Vec<&Features> = chunk.iter().collect();
            let batch = Batch::new(self, &refs)?;
            let scores = batch.forward(self)?.to_vec2::<f32>()?;
            out.extend(scores.into_iter().zip(&batch.lens).map(|(mut row, &len)| {
                row.truncate(len);
                row
            }));
        }
        Ok(out)
    }
}
