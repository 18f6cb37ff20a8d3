//! Explicit negative feedback on top of the model's scores: after a skip or a dislike,
//! candidates close to that item move down. Closeness is the larger of the cosine (unit-normalized
//! server embeddings) and how unusually close the candidate is among this page's candidates
//! (its cosine's z-score over 2, clamped to [0, 1]): in a high-dimensional catalogue a nearest
//! neighbour may have a cosine of only 0.3, yet stand two deviations above the page.
//!
//! Why a rule and not only the model: a listener who skips a card expects its neighbours to sink
//! on the very next render, and a model trained on logs where a single skip is weak evidence does
//! not guarantee that (measured on the shipped model: after one skip, the skipped card's three
//! nearest shelf-mates did not move down on average). The rule is deterministic, cheap (N × events
//! dot products), documented, and off with `negativeFeedback: 0`.

use crate::event::Action;
use crate::features::Features;
use crate::model::cpu::dot;

/// How much each older negative event counts relative to the next newer one.
const DECAY: f32 = 0.85;

/// Lowers `scores` by `weight` × (the scores' standard deviation) × the strongest recency-weighted
/// closeness between the candidate and a skipped or disliked event item.
pub fn apply_negative_feedback(scores: &mut [f32], f: &Features, weight: f32) {
    let (dim, n_events) = (f.dim, f.n_events());
    if weight == 0.0 || scores.is_empty() || dim == 0 {
        return;
    }
    let negative = |a: u32| a == Action::Skip.index() as u32 || a == Action::Dislike.index() as u32;
    let events: Vec<(f32, &[f32])> = (0..n_events)
        .filter(|&k| negative(f.event_action[k]))
        .map(|k| (DECAY.powi((n_events - 1 - k) as i32), &f.event_embeddings[k * dim..(k + 1) * dim]))
        .collect();
    if events.is_empty() {
        return;
    }
    // In f64: server scores near f32::MAX must not overflow the spread to infinity.
    let spread = mean_and_sd(scores).1.max(1e-3);
    let mut closeness = vec![0f32; scores.len()];
    let mut cosines = vec![0f32; scores.len()];
    for (w, e) in events {
        for (i, c) in cosines.iter_mut().enumerate() {
            *c = dot(&f.cand_embeddings[i * dim..(i + 1) * dim], e);
        }
        let (mean, sd) = mean_and_sd(&cosines);
        for (close, &c) in closeness.iter_mut().zip(&cosines) {
            let relative = if sd > 1e-6 { ((c as f64 - mean) / (2.0 * sd)).clamp(0.0, 1.0) as f32 } else { 0.0 };
            // Compare-and-select, not f32::max: in wasm that is a call to libm's fmaxf (for its
            // NaN rule), and every value here is finite.
            let near = w * if c > relative { c } else { relative };
            if near > *close {
                *close = near;
            }
        }
    }
    for (score, close) in scores.iter_mut().zip(closeness) {
        let lowered = *score as f64 - weight as f64 * spread * close as f64;
        *score = lowered.clamp(f32::MIN as f64, f32::MAX as f64) as f32;
    }
}

/// Mean and population standard deviation, accumulated in f64.
fn mean_and_sd(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    (mean, (values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(events: &[(Action, [f32; 2])], cands: &[[f32; 2]]) -> Features {
        let mut f = Features::new(2);
        for (a, e) in events {
            f.event_action.push(a.index() as u32);
            f.event_embeddings.extend(e);
        }
        for c in cands {
            f.cand_embeddings.extend(c);
        }
        f
    }

    #[test]
    fn a_skip_lowers_the_skipped_item_most_and_its_neighbours_more_than_the_rest() {
        let f = features(&[(Action::Skip, [1.0, 0.0])], &[[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]]);
        let mut scores = vec![1.0, 1.0, 1.0, 0.0];
        apply_negative_feedback(&mut scores, &f, 1.0);
        // spread of [1, 1, 1, 0] is √(3/16) ≈ 0.433.
        let spread = (3.0f32 / 16.0).sqrt();
        assert!((scores[0] - (1.0 - spread)).abs() < 1e-6);
        assert!((scores[1] - (1.0 - 0.8 * spread)).abs() < 1e-6);
        assert_eq!(&scores[2..], &[1.0, 0.0]); // orthogonal and opposite: untouched
    }

    #[test]
    fn only_skips_and_dislikes_count_and_older_ones_count_less() {
        let cands = [[1.0, 0.0], [0.0, 1.0]];
        let mut plain = vec![1.0, 0.0];
        apply_negative_feedback(&mut plain, &features(&[(Action::Like, [1.0, 0.0])], &cands), 1.0);
        assert_eq!(plain, vec![1.0, 0.0]);
        let mut off = vec![1.0, 0.0];
        apply_negative_feedback(&mut off, &features(&[(Action::Skip, [1.0, 0.0])], &cands), 0.0);
        assert_eq!(off, vec![1.0, 0.0]);

        let events = [(Action::Dislike, [1.0, 0.0]), (Action::Play, [0.0, 1.0]), (Action::Skip, [0.0, 1.0])];
        let mut scores = vec![0.0, 0.0];
        apply_negative_feedback(&mut scores, &features(&events, &cands), 1.0);
        // The dislike is two events old (0.85²), the skip the newest (1.0); spread floor 1e-3.
        assert!((scores[0] + 1e-3 * 0.85 * 0.85).abs() < 1e-9, "{scores:?}");
        assert!((scores[1] + 1e-3).abs() < 1e-9, "{scores:?}");
    }

    #[test]
    fn a_neighbour_with_a_small_cosine_still_counts_when_it_stands_out_on_the_page() {
        // Nine candidates orthogonal to the skipped item, one at cosine 0.4.
        let mut cands = vec![[0.0, 1.0]; 9];
        cands.push([0.4, (1.0f32 - 0.16).sqrt()]);
        let mut scores = vec![0.0; 9];
        scores.push(1.0);
        let before = scores.clone();
        apply_negative_feedback(&mut scores, &features(&[(Action::Skip, [1.0, 0.0])], &cands), 1.0);
        // z / 2 = (0.4 − 0.04) / (0.12 · 2) = 1.5 → 1: the full penalty of one spread (0.3), not 0.4 of it.
        assert!((before[9] - scores[9] - 0.3).abs() < 1e-5, "{scores:?}");
        assert_eq!(&scores[..9], &before[..9]);
    }
}
