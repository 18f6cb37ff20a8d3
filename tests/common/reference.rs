//! A plain-Rust float64 reference of the whole HR-S forward (page + events → scores), written
//! from docs/ARCHITECTURE.md ("The model") and feature schema 3 as documented in
//! `src/features/mod.rs` and `src/features/similarity.rs`, with naive
//! loops and no candle: an independent check of featurization, embedding and the core.

use std::collections::HashMap;

use homerank::model::HrsConfig;
use homerank::{Action, HomePage, ItemType, SessionEvent};

type Mat = Vec<Vec<f64>>;

pub struct Reference {
    w: HashMap<String, (Vec<usize>, Vec<f64>)>,
}

impl Reference {
    pub fn new(weights: &HashMap<String, Vec<f32>>) -> Self {
        let w = HrsConfig::default()
            .tensor_specs()
            .into_iter()
            .map(|spec| {
                let v = weights[&spec.name].iter().map(|&x| f64::from(x)).collect();
                (spec.name, (spec.shape, v))
            })
            .collect();
        Reference { w }
    }

    fn vec(&self, name: &str) -> &[f64] {
        &self.w[name].1
    }

    fn row(&self, table: &str, i: usize) -> Vec<f64> {
        let (shape, v) = &self.w[table];
        v[i * shape[1]..(i + 1) * shape[1]].to_vec()
    }

    /// y = x·Wᵀ + b with W stored [out, in].
    fn linear(&self, name: &str, x: &Mat) -> Mat {
        let (shape, w) = &self.w[&format!("{name}.w")];
        let b = self.vec(&format!("{name}.b"));
        let (out, inp) = (shape[0], shape[1]);
        x.iter()
            .map(|row| (0..out).map(|o| b[o] + (0..inp).map(|i| row[i] * w[o * inp + i]).sum::<f64>()).collect())
            .collect()
    }

    fn layer_norm(&self, name: &str, x: &Mat) -> Mat {
        let g = self.vec(&format!("{name}.g"));
        let b = self.vec(&format!("{name}.b"));
        x.iter()
            .map(|row| {
                let n = row.len() as f64;
                let mean = row.iter().sum::<f64>() / n;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                row.iter().enumerate().map(|(i, v)| (v - mean) / (var + 1e-5).sqrt() * g[i] + b[i]).collect()
            })
            .collect()
    }

    fn attention(&self, name: &str, xq: &Mat, xkv: &Mat) -> Mat {
        let (q, k, v) = (
            self.linear(&format!("{name}.q"), xq),
            self.linear(&format!("{name}.k"), xkv),
            self.linear(&format!("{name}.v"), xkv),
        );
        let (heads, hd) = (4, 16);
        let mut out = vec![vec![0.0; 64]; xq.len()];
        for h in 0..heads {
            for (i, qi) in q.iter().enumerate() {
                let logits: Vec<f64> =
                    k.iter().map(|kj| (0..hd).map(|t| qi[h * hd + t] * kj[h * hd + t]).sum::<f64>() * 0.25).collect();
                let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for (j, vj) in v.iter().enumerate() {
                    for t in 0..hd {
                        out[i][h * hd + t] += e[j] / z * vj[h * hd + t];
                    }
                }
            }
        }
        self.linear(&format!("{name}.o"), &out)
    }

    fn ffn(&self, name: &str, x: &Mat) -> Mat {
        let h = self.linear(&format!("{name}.fc1"), x);
        let h: Mat = h.iter().map(|r| r.iter().map(|&v| 0.5 * v * (1.0 + erf(v / 2f64.sqrt()))).collect()).collect();
        self.linear(&format!("{name}.fc2"), &h)
    }

    /// Scores of every candidate of `page` (page order) after `events` (oldest first).
    pub fn scores(&self, page: &HomePage, events: &[SessionEvent]) -> Vec<f64> {
        let embedding_of: HashMap<&str, (&[f32], ItemType)> = page
            .shelves
            .iter()
            .flat_map(|s| s.items.iter())
            .map(|i| (i.id.as_str(), (i.embedding.as_slice(), i.item_type)))
            .collect();
        // First listing wins, as in the ranker's cache.
        let mut artist_of: HashMap<&str, Option<&str>> = HashMap::new();
        for item in page.shelves.iter().flat_map(|s| s.items.iter()) {
            artist_of.entry(item.id.as_str()).or_insert(item.artist_id.as_deref());
        }
        let known: Vec<&SessionEvent> =
            events.iter().filter(|e| embedding_of.contains_key(e.item_id.as_str())).collect();
        let known = &known[known.len().saturating_sub(64)..];
        let mut s: Mat = Vec::new();
        for (pos, e) in known.iter().enumerate() {
            let age = known.len() - 1 - pos;
            let (emb, ty) = embedding_of[e.item_id.as_str()];
            let mut tok = self.linear("embed.item", &vec![unit(emb)]).remove(0);
            let dwell = match e.ms_played {
                None => 0,
                Some(ms) => 1 + [5e3, 15e3, 30e3, 60e3, 120e3, 300e3].iter().filter(|&&edge| ms >= edge).count(),
            };
            let recency = match age {
                0..=3 => age,
                4..=7 => 4,
                8..=15 => 5,
                16..=31 => 6,
                _ => 7,
            };
            let action = Action::ALL.iter().position(|a| *a == e.action).unwrap();
            for (table, idx) in [
                ("embed.action", action),
                ("embed.dwell", dwell),
                ("embed.recency", recency),
                ("embed.type", ty as usize),
            ] {
                add(&mut tok, &self.row(table, idx));
            }
            s.push(tok);
        }
        // The learned session-start token comes first (feature schema 2).
        s.insert(0, self.vec("embed.bos").to_vec());
        let mut c: Mat = Vec::new();
        let mut server = Vec::new();
        let mut z: Mat = Vec::new();
        let (mean, scale, w_sim) = (self.vec("sim.mean"), self.vec("sim.scale"), self.vec("head.w_sim"));
        for (si, shelf) in page.shelves.iter().enumerate() {
            for (rank, item) in shelf.items.iter().enumerate() {
                let mut tok = self.linear("embed.item", &vec![unit(&item.embedding)]).remove(0);
                let rb = [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 10, 10, 10, 10];
                let rank_bucket = if rank < 16 {
                    rb[rank]
                } else if rank < 24 {
                    11
                } else if rank < 32 {
                    12
                } else if rank < 64 {
                    13
                } else if rank < 128 {
                    14
                } else {
                    15
                };
                for (table, idx) in
                    [("embed.type", item.item_type as usize), ("embed.rank", rank_bucket), ("embed.shelf", si.min(15))]
                {
                    add(&mut tok, &self.row(table, idx));
                }
                let raw = similarity(item, known, &embedding_of, &artist_of);
                let zi: Vec<f64> = raw.iter().zip(mean).zip(scale).map(|((x, m), s)| (x - m) * s).collect();
                add(&mut tok, &self.linear("sim.proj", &vec![zi.clone()]).remove(0));
                z.push(zi);
                c.push(tok);
                server.push(item.server_score.unwrap_or(0.0) as f64);
            }
        }
        for l in 0..2 {
            let h = self.layer_norm(&format!("sess{l}.ln_attn"), &s);
            s = sum(&s, &self.attention(&format!("sess{l}.attn"), &h, &h));
            let h = self.layer_norm(&format!("sess{l}.ln_ffn"), &s);
            s = sum(&s, &self.ffn(&format!("sess{l}.ffn"), &h));
        }
        for l in 0..2 {
            let h = self.layer_norm(&format!("cand{l}.ln_self"), &c);
            c = sum(&c, &self.attention(&format!("cand{l}.self"), &h, &h));
            let h = self.layer_norm(&format!("cand{l}.ln_cross"), &c);
            c = sum(&c, &self.attention(&format!("cand{l}.cross"), &h, &s));
            let h = self.layer_norm(&format!("cand{l}.ln_ffn"), &c);
            c = sum(&c, &self.ffn(&format!("cand{l}.ffn"), &h));
        }
        let h = self.layer_norm("head.ln", &c);
        let (w, b, ws) = (self.vec("head.out.w"), self.vec("head.out.b")[0], self.vec("head.w_server")[0]);
        h.iter()
            .zip(&server)
            .zip(&z)
            .map(|((row, srv), zi)| {
                let sim: f64 = zi.iter().zip(w_sim).map(|(a, b)| a * b).sum();
                row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b + ws * srv + sim
            })
            .collect()
    }
}

/// The 13 similarity features of `item` after the `known` events (oldest first), written from
/// their definition in `features::similarity`'s table.
fn similarity(
    item: &homerank::Item,
    known: &[&SessionEvent],
    embedding_of: &HashMap<&str, (&[f32], ItemType)>,
    artist_of: &HashMap<&str, Option<&str>>,
) -> Vec<f64> {
    let mut f = vec![0f64; 13];
    let ce = unit(&item.embedding);
    let (mut max_pos, mut max_neg) = (None::<f64>, None::<f64>);
    for (pos, e) in known.iter().enumerate() {
        let w = 0.8f64.powi((known.len() - 1 - pos) as i32);
        let s = match e.action {
            Action::Skip | Action::Dislike => -1.0,
            Action::Play | Action::Complete | Action::Like | Action::Save | Action::Click => 1.0,
            _ => 0.3,
        };
        let ee = unit(embedding_of[e.item_id.as_str()].0);
        let cos: f64 = ce.iter().zip(&ee).map(|(a, b)| a * b).sum();
        let same = (e.item_id == item.id) as u8 as f64;
        let nb = if e.item_id == item.id {
            1.0
        } else {
            item.neighbors.iter().flatten().find(|n| n.id == e.item_id).map_or(0.0, |n| n.weight as f64)
        };
        let artist = match (item.artist_id.as_deref(), artist_of[e.item_id.as_str()]) {
            (Some(a), Some(b)) if a == b => 1.0,
            _ => 0.0,
        };
        f[0] += w * s * cos;
        f[5] += w * s * nb;
        if s > 0.0 {
            f[1] += w * cos;
            max_pos = Some(max_pos.map_or(cos, |m| m.max(cos)));
            f[6] += w * nb;
            f[8] += w * same;
            f[10] += w * artist;
        } else if s < 0.0 {
            f[2] += w * cos;
            max_neg = Some(max_neg.map_or(cos, |m| m.max(cos)));
            f[7] += w * nb;
            f[9] += w * same;
            f[11] += w * artist;
        }
    }
    f[3] = max_pos.unwrap_or(0.0);
    f[4] = max_neg.unwrap_or(0.0);
    f[12] = item.neighbors.is_some() as u8 as f64;
    f
}

fn unit(v: &[f32]) -> Vec<f64> {
    let n = v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
    v.iter().map(|&x| if n > 0.0 { x as f64 / n } else { 0.0 }).collect()
}

fn add(a: &mut [f64], b: &[f64]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

fn sum(a: &Mat, b: &Mat) -> Mat {
    a.iter().zip(b).map(|(x, y)| x.iter().zip(y).map(|(p, q)| p + q).collect()).collect()
}

/// erf by its Maclaurin series; for |x| ≤ 5 the cancellation leaves ~1e-6 relative error at
/// worst, far inside the 1e-4 tolerance; beyond, erf is ±1 to 1e-12.
fn erf(x: f64) -> f64 {
    if x.abs() > 5.0 {
        return x.signum();
    }
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}
