//! Ranking cases: a session prefix, the server's candidate list, and the true next positive.
//!
//! For each eligible position `t` of a session (a positive — complete, click, like, save — with
//! at least one event before it), the candidates are the server's top items for the user (never
//! the session), the target inserted at the rank its server score gives it, and the items skipped
//! in the same session (up to 3, the skip@3 labels) likewise. The list is in server order.

use std::collections::HashMap;

use super::embed::ItemEmbeddings;
use super::server::ServerModel;
use crate::dataset::{Dataset, Interaction};
use crate::event::Action;
use crate::features::Features;
use crate::page::ItemType;
use crate::rng::Rng;

/// How cases are drawn.
#[derive(Debug, Clone)]
pub struct CaseConfig {
    /// Candidates per list (`None`: the whole catalogue).
    pub n_cands: Option<usize>,
    /// Most events of the prefix the model reads.
    pub max_events: usize,
    /// Most cases per session (evenly spread over its eligible positions).
    pub per_session: usize,
    /// Most cases overall (a seeded sample of sessions when there are more).
    pub max_cases: usize,
    pub seed: u64,
}

impl Default for CaseConfig {
    fn default() -> Self {
        CaseConfig { n_cands: Some(50), max_events: 64, per_session: 4, max_cases: 4_000, seed: 7 }
    }
}

/// One list to rank.
#[derive(Debug, Clone)]
pub struct RankingCase {
    pub session: usize,
    /// Events before the target, oldest first (at most `max_events`).
    pub prefix: Vec<Interaction>,
    /// Candidate items in server order.
    pub candidates: Vec<u32>,
    /// Index of the true next positive in `candidates`.
    pub target: usize,
    /// Indices of skip-labelled candidates.
    pub skipped: Vec<usize>,
}

/// Whether an action makes a position a ranking target.
pub fn is_target(action: Action) -> bool {
    matches!(action, Action::Complete | Action::Click | Action::Like | Action::Save)
}

/// Builds the cases of `sessions` with the fitted server.
pub fn build_cases(
    dataset: &Dataset,
    sessions: &[usize],
    server: &ServerModel,
    embeddings: &ItemEmbeddings,
    config: &CaseConfig,
) -> Vec<RankingCase> {
    let mut rng = Rng::new(config.seed);
    let mut order: Vec<usize> = sessions.to_vec();
    rng.shuffle(&mut order);
    // Server lists are per user; anonymous sessions share one.
    let mut lists: HashMap<Option<String>, (Vec<u32>, Vec<f32>)> = HashMap::new();
    let mut out = Vec::new();
    for s in order {
        if out.len() >= config.max_cases {
            break;
        }
        let session = &dataset.sessions[s];
        let eligible: Vec<usize> = (1..session.events.len())
            .filter(|&t| is_target(session.events[t].action))
            // A like logged with its play (same item, same time) is part of that play, not a new pick.
            .filter(|&t| {
                let (prev, cur) = (&session.events[t - 1], &session.events[t]);
                !(prev.item == cur.item && prev.time_ms == cur.time_ms)
            })
            .collect();
        if eligible.is_empty() {
            continue;
        }
        let (ranked, scores) = lists.entry(session.user.clone()).or_insert_with(|| {
            let scores = server.scores(session.user.as_deref(), embeddings);
            let mut ranked: Vec<u32> = (0..scores.len() as u32).collect();
            ranked.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
            (ranked, scores)
        });
        let picks = spread(&eligible, config.per_session);
        for t in picks {
            if out.len() >= config.max_cases {
                break;
            }
            let target = session.events[t].item;
            let mut skipped: Vec<u32> = Vec::new();
            for e in session.events[t + 1..].iter().chain(session.events[..t].iter().rev()) {
                if matches!(e.action, Action::Skip | Action::Dislike) && e.item != target && !skipped.contains(&e.item) && skipped.len() < 3 {
                    skipped.push(e.item);
                }
            }
            let mut chosen: Vec<u32> = vec![target];
            chosen.extend(&skipped);
            let n = config.n_cands.unwrap_or(ranked.len()).min(ranked.len());
            for &i in ranked.iter() {
                if chosen.len() >= n {
                    break;
                }
                if i != target && !skipped.contains(&i) {
                    chosen.push(i);
                }
            }
            chosen.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
            let position = |item: u32| chosen.iter().position(|&c| c == item).expect("chosen holds it");
            let prefix_start = t.saturating_sub(config.max_events);
            out.push(RankingCase {
                session: s,
                prefix: session.events[prefix_start..t].to_vec(),
                target: position(target),
                skipped: skipped.iter().map(|&i| position(i)).collect(),
                candidates: chosen,
            });
        }
    }
    out
}

/// Up to `k` elements spread evenly over `v`, always including the last.
fn spread(v: &[usize], k: usize) -> Vec<usize> {
    if v.len() <= k {
        return v.to_vec();
    }
    (0..k).map(|i| v[(i + 1) * v.len() / k - 1]).collect()
}

/// The model's features for a case: one shelf in server order, serverScore = 1 − rank/N.
pub fn case_features(case: &RankingCase, dataset: &Dataset, embeddings: &ItemEmbeddings) -> Features {
    let mut f = Features::new(embeddings.dim);
    let types = &dataset.catalog.types;
    let n_prefix = case.prefix.len();
    for (p, e) in case.prefix.iter().enumerate() {
        let ms = e.ms_played.map(f64::from);
        f.push_event(embeddings.of(e.item), e.action, ms, n_prefix - 1 - p, item_type(types, e.item));
    }
    let n = case.candidates.len();
    for (rank, &item) in case.candidates.iter().enumerate() {
        let server_score = 1.0 - rank as f32 / n as f32;
        f.push_candidate(embeddings.of(item), item_type(types, item), rank, 0, server_score);
    }
    f
}

fn item_type(types: &[ItemType], item: u32) -> ItemType {
    types.get(item as usize).copied().unwrap_or_default()
}
