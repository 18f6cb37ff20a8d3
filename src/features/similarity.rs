//! Per-candidate similarity to the session (feature schema 3): what the on-device heuristics
//! compute, handed to the model as inputs so that it starts from them instead of having to
//! rediscover cosine similarity through its projections.
//!
//! For candidate `c` and the session's events `e` (age 0 = newest), with recency weight
//! `w = 0.8^age` and action sign `s` (+1 play, complete, click, like, save; −1 skip, dislike;
//! 0.3 impression, dwell), "positive" events being those with `s > 0` and "negative" those
//! with `s < 0`:
//!
//! | # | name | value |
//! |---|---|---|
//! | 0 | `emb_signed` | Σ w·s·cos(c, e) over the unit-normalized embeddings |
//! | 1 | `emb_pos` | Σ over positive events of w·cos |
//! | 2 | `emb_neg` | Σ over negative events of w·cos |
//! | 3 | `max_cos_pos` | max cos over positive events (0 without any) |
//! | 4 | `max_cos_neg` | max cos over negative events (0 without any) |
//! | 5 | `nb_signed` | Σ w·s·nb(c, e): `nb` the weight of e's item in c's `neighbors` (1 for c itself) |
//! | 6 | `nb_pos` | Σ over positive events of w·nb |
//! | 7 | `nb_neg` | Σ over negative events of w·nb |
//! | 8 | `repeat_pos` | Σ over positive events of w·[e is c] |
//! | 9 | `repeat_neg` | Σ over negative events of w·[e is c] |
//! | 10 | `artist_pos` | Σ over positive events of w·[same artist] |
//! | 11 | `artist_neg` | Σ over negative events of w·[same artist] |
//! | 12 | `has_neighbors` | 1 when the page gave c a `neighbors` list, else 0 |
//!
//! `nb_*` is item-kNN's rule (Sarwar et al.; the `item-kNN` baseline of `eval`) over the short
//! neighbour lists a server can send with each candidate; `emb_*` is the same rule over the
//! page's embeddings. The identifiers are generic so that the ranker (string ids) and the
//! offline protocol (catalogue indices) share this one definition.

use std::collections::HashMap;
use std::hash::Hash;

use crate::event::Action;
use crate::simd::{dot, f32_add, f32_madd, f32_max, f32_splat, lanes_f32, load32_splat, load_f32};

/// Number of similarity features per candidate.
pub const SIM_FEATURES: usize = 13;

/// Recency decay per event of age.
pub const DECAY: f32 = 0.8;

/// The sign an action gives its event: +1 positive, −1 skip or dislike, 0.3 for the rest.
pub fn action_sign(action: Action) -> f32 {
    match action {
        Action::Skip | Action::Dislike => -1.0,
        a if a.is_positive() => 1.0,
        _ => 0.3,
    }
}

/// What the features need of one event.
#[derive(Debug, Clone, Copy)]
pub struct EventKey<K> {
    /// The event's item (a string id on the device, a catalogue index offline).
    pub item: K,
    /// The item's artist; `None` when unknown (then no artist feature counts it).
    pub artist: Option<K>,
    /// What the listener did; it gives the event its sign (`action_sign`).
    pub action: Action,
}

/// What the features need of one candidate.
#[derive(Debug, Clone, Copy)]
pub struct CandidateKey<'a, K> {
    /// The candidate's item, in the same id space as [`EventKey::item`].
    pub item: K,
    /// The candidate's artist; `None` when unknown.
    pub artist: Option<K>,
    /// The server's neighbour list, `(item, weight)`, when the page has one.
    pub neighbors: Option<&'a [(K, f32)]>,
}

/// Appends `SIM_FEATURES` values per candidate to `out`. `events` oldest first, with their
/// unit embeddings `event_emb` (`[L, dim]`); `cand_emb` `[N, dim]`, unit.
pub fn similarity_features<K: Copy + Eq + Hash>(
    events: &[EventKey<K>],
    event_emb: &[f32],
    cands: &[CandidateKey<'_, K>],
    cand_emb: &[f32],
    dim: usize,
    out: &mut Vec<f32>,
) {
    let l = events.len();
    let EventWeights { signed, pos, neg } = EventWeights::of(events);
    let (any_pos, any_neg) = (pos.iter().any(|&w| w > 0.0), neg.iter().any(|&w| w > 0.0));
    // What an event's cosine gets added before the maxima: 0 for the events of the maximum's
    // kind, −∞ for the others, so that the maxima also run without branches (the cosines of
    // unit or zero vectors are finite).
    let bias = |w: &[f32]| -> Vec<f32> { w.iter().map(|&w| if w > 0.0 { 0.0 } else { f32::NEG_INFINITY }).collect() };
    let (pos_bias, neg_bias) = (bias(&pos), bias(&neg));
    // Events by item and by artist, for the neighbour lists (at most 32 look-ups per
    // candidate) and the repeat and artist features.
    let mut by_item: HashMap<K, Vec<usize>, FastHash> = HashMap::with_capacity_and_hasher(l, FastHash::default());
    let mut by_artist: HashMap<K, Vec<usize>, FastHash> = HashMap::with_capacity_and_hasher(l, FastHash::default());
    for (p, e) in events.iter().enumerate() {
        by_item.entry(e.item).or_default().push(p);
        if let Some(artist) = e.artist {
            by_artist.entry(artist).or_default().push(p);
        }
    }
    // Candidates go in groups of four, one per vector lane, so that the sums over the events run
    // four candidates at a time; each lane still adds its events in order, as one candidate
    // alone would. `cos` is `[event][lane]`.
    let mut cos = vec![0f32; l * GROUP];
    let start = out.len();
    out.resize(start + cands.len() * SIM_FEATURES, 0.0);
    for k0 in (0..cands.len()).step_by(GROUP) {
        let group = GROUP.min(cands.len() - k0);
        for g in 0..GROUP {
            // A short last group repeats its first candidate in the spare lanes.
            let k = k0 + if g < group { g } else { 0 };
            let ce = &cand_emb[k * dim..(k + 1) * dim];
            for p in 0..l {
                cos[p * GROUP + g] = dot(ce, &event_emb[p * dim..(p + 1) * dim]);
            }
        }
        let sums = event_sums(&cos, &signed, &pos, &neg, &pos_bias, &neg_bias);
        for (g, c) in cands[k0..k0 + group].iter().enumerate() {
            let f: &mut [f32; SIM_FEATURES] =
                (&mut out[start + (k0 + g) * SIM_FEATURES..start + (k0 + g + 1) * SIM_FEATURES]).try_into().unwrap();
            f[..3].copy_from_slice(&[sums[0][g], sums[1][g], sums[2][g]]);
            f[3] = if any_pos { sums[3][g] } else { 0.0 };
            f[4] = if any_neg { sums[4][g] } else { 0.0 };
            // nb(c, e): 1 for c itself, else e's weight in c's list.
            let nb = |p: usize, weight: f32, f: &mut [f32; SIM_FEATURES]| {
                f[5] += signed[p] * weight;
                f[6] += pos[p] * weight;
                f[7] += neg[p] * weight;
            };
            for &p in by_item.get(&c.item).map_or(&[][..], Vec::as_slice) {
                nb(p, 1.0, f);
                f[8] += pos[p];
                f[9] += neg[p];
            }
            if let Some(list) = c.neighbors {
                f[12] = 1.0;
                for &(item, weight) in list.iter().filter(|(item, _)| *item != c.item) {
                    for &p in by_item.get(&item).map_or(&[][..], Vec::as_slice) {
                        nb(p, weight, f);
                    }
                }
            }
            if let Some(artist) = c.artist {
                for &p in by_artist.get(&artist).map_or(&[][..], Vec::as_slice) {
                    f[10] += pos[p];
                    f[11] += neg[p];
                }
            }
        }
    }
}

/// Per event (oldest first): its weight w·s and, split by sign, w for positive and for negative
/// events (0 for the other kind), so that each candidate's sums run without branches.
struct EventWeights {
    signed: Vec<f32>,
    pos: Vec<f32>,
    neg: Vec<f32>,
}

impl EventWeights {
    fn of<K>(events: &[EventKey<K>]) -> Self {
        let l = events.len();
        let mut weights =
            EventWeights { signed: Vec::with_capacity(l), pos: Vec::with_capacity(l), neg: Vec::with_capacity(l) };
        for (p, e) in events.iter().enumerate() {
            let (w, s) = (DECAY.powi((l - 1 - p) as i32), action_sign(e.action));
            weights.signed.push(w * s);
            weights.pos.push(if s > 0.0 { w } else { 0.0 });
            weights.neg.push(if s < 0.0 { w } else { 0.0 });
        }
        weights
    }
}

/// Candidates per group of [`event_sums`].
const GROUP: usize = 4;

/// For four candidates (lanes) and their cosines with the `l` events (`cos`, `[event][lane]`):
/// Σ w·s·cos, Σ pos·cos, Σ neg·cos, the largest cosine with a positive and with a negative
/// event (−∞ without one). Each lane adds its events in order, one multiply and one add each.
fn event_sums(
    cos: &[f32],
    signed: &[f32],
    pos: &[f32],
    neg: &[f32],
    pos_bias: &[f32],
    neg_bias: &[f32],
) -> [[f32; 4]; 5] {
    let l = signed.len();
    assert!(cos.len() >= l * GROUP && pos.len() >= l && neg.len() >= l && pos_bias.len() >= l && neg_bias.len() >= l);
    let mut acc = [f32_splat(0.0); 3];
    let (mut max_pos, mut max_neg) = (f32_splat(f32::NEG_INFINITY), f32_splat(f32::NEG_INFINITY));
    for p in 0..l {
        // SAFETY: p < l, and `cos` holds four values per event (asserted above).
        unsafe {
            let c = load_f32(cos.as_ptr().add(p * GROUP));
            let at = |w: &[f32]| load32_splat(w.as_ptr().add(p) as *const u8);
            acc[0] = f32_madd(at(signed), c, acc[0]);
            acc[1] = f32_madd(at(pos), c, acc[1]);
            acc[2] = f32_madd(at(neg), c, acc[2]);
            max_pos = f32_max(max_pos, f32_add(c, at(pos_bias)));
            max_neg = f32_max(max_neg, f32_add(c, at(neg_bias)));
        }
    }
    [lanes_f32(acc[0]), lanes_f32(acc[1]), lanes_f32(acc[2]), lanes_f32(max_pos), lanes_f32(max_neg)]
}

/// A fast hasher for ids (FxHash's rotate-xor-multiply): interning and look-ups run on every
/// rerank over every item, where SipHash's resistance to chosen keys buys nothing — the keys
/// come from the server that could as well send a bigger page.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.add(v as u64);
    }

    fn write_u32(&mut self, v: u32) {
        self.add(v as u64);
    }

    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }

    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
}

impl FastHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The [`FastHasher`] as a `HashMap`'s hasher.
pub type FastHash = std::hash::BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The features pair by pair, one candidate at a time (the implementation before the
    /// grouped one): what the grouped computation must equal bit for bit.
    fn pairwise<K: Copy + Eq + Hash>(
        events: &[EventKey<K>],
        event_emb: &[f32],
        cands: &[CandidateKey<'_, K>],
        cand_emb: &[f32],
        dim: usize,
        out: &mut Vec<f32>,
    ) {
        let l = events.len();
        let EventWeights { signed, pos, neg } = EventWeights::of(events);
        let (any_pos, any_neg) = (pos.iter().any(|&w| w > 0.0), neg.iter().any(|&w| w > 0.0));
        // Events by item, for the neighbour lists (at most 32 look-ups per candidate).
        let mut by_item: HashMap<K, Vec<usize>, FastHash> = HashMap::with_capacity_and_hasher(l, FastHash::default());
        for (p, e) in events.iter().enumerate() {
            by_item.entry(e.item).or_default().push(p);
        }
        let mut cos = vec![0f32; l];
        for (k, c) in cands.iter().enumerate() {
            let mut f = [0f32; SIM_FEATURES];
            let ce = &cand_emb[k * dim..(k + 1) * dim];
            for (p, cp) in cos.iter_mut().enumerate() {
                *cp = dot(ce, &event_emb[p * dim..(p + 1) * dim]);
            }
            let (mut max_pos, mut max_neg) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            for (p, e) in events.iter().enumerate() {
                let cos = cos[p];
                f[0] += signed[p] * cos;
                f[1] += pos[p] * cos;
                f[2] += neg[p] * cos;
                if pos[p] > 0.0 && cos > max_pos {
                    max_pos = cos;
                }
                if neg[p] > 0.0 && cos > max_neg {
                    max_neg = cos;
                }
                let same = (e.item == c.item) as u8 as f32;
                let artist = (c.artist.is_some() && e.artist == c.artist) as u8 as f32;
                f[8] += pos[p] * same;
                f[9] += neg[p] * same;
                f[10] += pos[p] * artist;
                f[11] += neg[p] * artist;
            }
            f[3] = if any_pos { max_pos } else { 0.0 };
            f[4] = if any_neg { max_neg } else { 0.0 };
            // nb(c, e): 1 for c itself, else e's weight in c's list.
            let nb = |p: usize, weight: f32, f: &mut [f32; SIM_FEATURES]| {
                f[5] += signed[p] * weight;
                f[6] += pos[p] * weight;
                f[7] += neg[p] * weight;
            };
            for &p in by_item.get(&c.item).map_or(&[][..], Vec::as_slice) {
                nb(p, 1.0, &mut f);
            }
            if let Some(list) = c.neighbors {
                f[12] = 1.0;
                for &(item, weight) in list.iter().filter(|(item, _)| *item != c.item) {
                    for &p in by_item.get(&item).map_or(&[][..], Vec::as_slice) {
                        nb(p, weight, &mut f);
                    }
                }
            }
            out.extend_from_slice(&f);
        }
    }

    #[test]
    fn equals_the_pairwise_definition_bit_for_bit() {
        let mut state = 7u64;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        let dim = 12;
        let actions = [Action::Play, Action::Skip, Action::Complete, Action::Like, Action::Impression, Action::Dislike];
        for (n, l) in [(0, 3), (1, 0), (5, 1), (9, 17), (13, 64)] {
            let mut unit = |count: usize| -> Vec<f32> {
                let mut v: Vec<f32> = (0..count * dim).map(|_| next() as f32 / u32::MAX as f32 - 0.5).collect();
                for row in v.chunks_mut(dim) {
                    let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                    row.iter_mut().for_each(|x| *x /= norm);
                }
                v
            };
            let (ee, ce) = (unit(l), unit(n));
            let events: Vec<EventKey<u32>> = (0..l)
                .map(|_| EventKey {
                    item: next() % 12,
                    artist: (next() % 3 != 0).then(|| next() % 4),
                    action: actions[next() as usize % actions.len()],
                })
                .collect();
            let lists: Vec<Vec<(u32, f32)>> = (0..n)
                .map(|_| (0..next() % 5).map(|_| (next() % 12, next() as f32 / u32::MAX as f32)).collect())
                .collect();
            let cands: Vec<CandidateKey<'_, u32>> = (0..n)
                .map(|k| CandidateKey {
                    item: next() % 12,
                    artist: (next() % 3 != 0).then(|| next() % 4),
                    neighbors: (k % 3 != 0).then(|| &lists[k][..]),
                })
                .collect();
            let mut got = vec![-1.0]; // appended after what is there
            similarity_features(&events, &ee, &cands, &ce, dim, &mut got);
            let mut want = Vec::new();
            pairwise(&events, &ee, &cands, &ce, dim, &mut want);
            assert_eq!(got[0], -1.0);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got[1..]), bits(&want), "{n} candidates, {l} events");
        }
    }

    /// Two events (a skip, then a complete) and two candidates, worked by hand.
    #[test]
    fn hand_computed_case() {
        let events = [
            EventKey { item: 1u32, artist: Some(10), action: Action::Skip },
            EventKey { item: 2, artist: Some(20), action: Action::Complete },
        ];
        // Unit embeddings in 2-d: event 1 along x, event 2 along y.
        let event_emb = [1.0, 0.0, 0.0, 1.0];
        let n3 = [(1u32, 0.5f32), (7, 0.9)];
        let cands = [
            // Candidate 2 is the completed item again; no neighbour list.
            CandidateKey { item: 2u32, artist: Some(20), neighbors: None },
            // Candidate 3 lists item 1 (the skip) as a neighbour with weight 0.5.
            CandidateKey { item: 3, artist: Some(10), neighbors: Some(&n3[..]) },
        ];
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let cand_emb = [0.0, 1.0, s, s];
        let mut out = Vec::new();
        similarity_features(&events, &event_emb, &cands, &cand_emb, 2, &mut out);
        // Ages: the skip is 1 (w 0.8), the complete 0 (w 1).
        // Candidate 2: cos 0 with the skip, 1 with the complete.
        let c2 = [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        // Candidate 3: cos s with both; nb: the skip at 0.5 → nb_signed −0.8·0.5, nb_neg 0.4;
        // same artist as the skip → artist_neg 0.8.
        let c3 = [-0.8 * s + s, s, 0.8 * s, s, s, -0.4, 0.0, 0.4, 0.0, 0.0, 0.0, 0.8, 1.0];
        for (got, want) in out.iter().zip(c2.iter().chain(&c3)) {
            assert!((got - want).abs() < 1e-6, "{out:?}");
        }
        assert_eq!(out.len(), 2 * SIM_FEATURES);
    }
}
