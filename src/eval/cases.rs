//! Ranking cases: a session prefix, the server's candidate list, and the true next positive.
//!
//! For each eligible position `t` of a session (a positive — complete, click, like, save — with
//! at least one event before it), the candidates are N consecutive items of the server's ranking
//! for the user (never the session) around the target's own server rank, so the target sits where
//! the server would put it, among items the server ranks alike; the window's offset is random, so
//! the target can be anywhere in the list. (Taking the server's top N and appending the target
//! makes it the one odd item out — a model learns that shortcut, not the listener.) Items skipped
//! in the same session (up to 3, the skip@3 labels) take random other slots. The list is in server
//! order; with `n_cands: None` it is the whole catalogue.
//!
//! [`CandidateList::ServerTop`] is the second, realistic protocol: the list is the server's own
//! top N, and only positions whose target the server already ranked in it count — does
//! on-device reranking improve a *good* server?

use super::history::History;
use super::server::ServerScorer;
use crate::dataset::{Dataset, Interaction};
use crate::event::Action;
use crate::event::SessionEvent;
use crate::features::{CandidateKey, EventKey, Features};
use crate::page::{HomePage, Item, ItemType, Neighbor, Shelf};
use crate::rng::Rng;

/// Which candidates a case lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CandidateList {
    /// A window of the server's ranking around the target, at a random offset.
    #[default]
    Window,
    /// The server's top N; positions whose target is not in it are not cases.
    ServerTop,
}

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
    /// Seeds the session sample, the window offsets and the skipped items' slots.
    pub seed: u64,
    /// Which protocol's lists: the window around the target, or the server's top N.
    pub list: CandidateList,
    /// Events of the listener's earlier sessions put before each prefix (at most this many,
    /// the latest; the prefix then keeps its last `max_events`): a mid-term context as the device
    /// that saw those sessions could give it. 0: sessions alone.
    pub prior_events: usize,
}

impl Default for CaseConfig {
    fn default() -> Self {
        CaseConfig {
            n_cands: Some(50),
            max_events: 64,
            per_session: 4,
            max_cases: 4_000,
            seed: 7,
            list: CandidateList::Window,
            prior_events: 0,
        }
    }
}

/// One list to rank.
#[derive(Debug, Clone)]
pub struct RankingCase {
    /// The case's session, an index into `dataset.sessions`.
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

/// Builds the cases of `sessions` with the server of `history` (which must not hold them).
pub fn build_cases(dataset: &Dataset, sessions: &[usize], history: &History, config: &CaseConfig) -> Vec<RankingCase> {
    let mut rng = Rng::new(config.seed);
    let order = visit_order(sessions, &mut rng);
    let scorer = history.server.scorer(&history.embeddings);
    let mut rankings = RecentRankings::new(&scorer);
    let mut out = Vec::new();
    for s in order {
        if out.len() >= config.max_cases {
            break;
        }
        // A session the dataset does not hold (`Split::NOT_HELD`) gives no cases.
        let Some(session) = dataset.sessions.get(s) else { continue };
        let picks = picks(&session.events, config.per_session);
        if picks.is_empty() {
            continue;
        }
        let ServerRanking { ranked, position_of } = rankings.of(session.user.as_deref());
        for t in picks {
            if out.len() >= config.max_cases {
                break;
            }
            let target = session.events[t].item;
            let mut skipped: Vec<u32> = Vec::new();
            for e in session.events[t + 1..].iter().chain(session.events[..t].iter().rev()) {
                if matches!(e.action, Action::Skip | Action::Dislike)
                    && e.item != target
                    && !skipped.contains(&e.item)
                    && skipped.len() < 3
                {
                    skipped.push(e.item);
                }
            }
            // The window of the server's ranking around the target's rank, at a random offset:
            // the target sits among items the server ranks alike, anywhere in the list.
            let n = config.n_cands.unwrap_or(ranked.len()).min(ranked.len());
            let r = position_of[target as usize];
            let lo = match config.list {
                CandidateList::Window => r.saturating_sub(rng.below(n)).min(ranked.len() - n),
                CandidateList::ServerTop if r < n => 0,
                CandidateList::ServerTop => continue,
            };
            let mut candidates: Vec<u32> = ranked[lo..lo + n].to_vec();
            // Skipped items take free slots (never the target's), unless already listed.
            let mut free: Vec<usize> =
                (0..n).filter(|&k| candidates[k] != target && !skipped.contains(&candidates[k])).collect();
            rng.shuffle(&mut free);
            let missing: Vec<u32> = skipped.iter().copied().filter(|i| !candidates.contains(i)).collect();
            for (item, slot) in missing.into_iter().zip(free) {
                candidates[slot] = item;
            }
            let position = |item: u32| candidates.iter().position(|&c| c == item);
            let mut prefix = prior_events(dataset, s, config.prior_events);
            prefix.extend_from_slice(&session.events[..t]);
            let prefix_start = prefix.len().saturating_sub(config.max_events);
            out.push(RankingCase {
                session: s,
                prefix: prefix.split_off(prefix_start),
                target: position(target).expect("the window holds the target"),
                skipped: skipped.iter().filter_map(|&i| position(i)).collect(),
                candidates,
            });
        }
    }
    out
}

/// The order in which [`build_cases`] visits `sessions` (the first use of its generator).
fn visit_order(sessions: &[usize], rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = sessions.to_vec();
    rng.shuffle(&mut order);
    order
}

/// The positions of a session's events that can be ranking targets: a positive with an event
/// before it, except a like logged with its play (same item, same time), which is part of that
/// play, not a new pick.
pub fn eligible_positions(events: &[Interaction]) -> Vec<usize> {
    (1..events.len())
        .filter(|&t| is_target(events[t].action))
        .filter(|&t| !(events[t - 1].item == events[t].item && events[t - 1].time_ms == events[t].time_ms))
        .collect()
}

/// The positions of a session's events [`build_cases`] takes as targets: at most
/// `per_session` of its [`eligible_positions`], evenly spread, always including the last.
pub fn picks(events: &[Interaction], per_session: usize) -> Vec<usize> {
    spread(&eligible_positions(events), per_session)
}

/// A listener's server ranking of the whole catalogue: the items best first (ties: lower item
/// first) and each item's place in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRanking {
    /// Items, best first.
    pub ranked: Vec<u32>,
    /// Per item, its index in `ranked`.
    pub position_of: Vec<usize>,
}

impl ServerRanking {
    /// The ranking of the server's `scores` (one per catalogue item).
    pub fn new(scores: &[f32]) -> Self {
        // One u64 key per item, its score's descending total order above its index, sorts to
        // the same order as comparing (score, index) through the slice, without the indirection.
        let mut keys: Vec<u64> =
            scores.iter().enumerate().map(|(i, &s)| u64::from(descending_key(s)) << 32 | i as u64).collect();
        keys.sort_unstable();
        let ranked: Vec<u32> = keys.into_iter().map(|k| k as u32).collect();
        let mut position_of = vec![0usize; ranked.len()];
        for (r, &i) in ranked.iter().enumerate() {
            position_of[i as usize] = r;
        }
        ServerRanking { ranked, position_of }
    }

    /// How many of `targets` are in the top `n_cands` (`None`: the whole catalogue): the cases
    /// a session with these picked targets gives with [`CandidateList::ServerTop`].
    pub fn in_top(&self, targets: &[u32], n_cands: Option<usize>) -> usize {
        let n = n_cands.unwrap_or(self.ranked.len()).min(self.ranked.len());
        targets.iter().filter(|&&t| self.position_of[t as usize] < n).count()
    }
}

/// A key whose ascending order is `f32::total_cmp`'s descending order.
fn descending_key(score: f32) -> u32 {
    !super::total_order::f32_ascending(score)
}

/// The server rankings of the listeners seen last, up to [`RecentRankings::BYTES`] of them.
///
/// A draw visits its sessions in random order, so consecutive sessions rarely share a listener;
/// keeping one ranking per listener costs a catalogue each (tens of thousands of listeners on a
/// large log), keeping only the last one re-sorts the catalogue for nearly every session.
pub struct RecentRankings<'a> {
    scorer: &'a ServerScorer<'a>,
    /// Most recently used last.
    kept: Vec<(Option<String>, ServerRanking)>,
    capacity: usize,
}

impl<'a> RecentRankings<'a> {
    /// What the kept rankings may hold in all.
    pub const BYTES: usize = 16 << 20;

    /// None kept yet.
    pub fn new(scorer: &'a ServerScorer<'a>) -> Self {
        let per_ranking = scorer.n_items() * (std::mem::size_of::<u32>() + std::mem::size_of::<usize>());
        Self::with_capacity(scorer, Self::BYTES / per_ranking.max(1))
    }

    /// None kept yet; at most `capacity` (at least one) kept.
    pub fn with_capacity(scorer: &'a ServerScorer<'a>, capacity: usize) -> Self {
        RecentRankings { scorer, kept: Vec::new(), capacity: capacity.max(1) }
    }

    /// The server's ranking for `user` (`None`: an anonymous session).
    pub fn of(&mut self, user: Option<&str>) -> &ServerRanking {
        match self.kept.iter().position(|(u, _)| u.as_deref() == user) {
            Some(k) => {
                let entry = self.kept.remove(k);
                self.kept.push(entry);
            }
            None => {
                if self.kept.len() == self.capacity {
                    self.kept.remove(0);
                }
                self.kept.push((user.map(str::to_owned), ServerRanking::new(&self.scorer.scores(user))));
            }
        }
        &self.kept.last().expect("pushed above").1
    }
}

/// The sessions whose events [`build_cases`] reads: the visit order up to where `max_cases` is
/// reached, given the cases each session gives (`cases_of`: with [`CandidateList::Window`], its
/// number of [`picks`]; with [`CandidateList::ServerTop`], those of them
/// [`ServerRanking::in_top`]). Drawing from a dataset that holds the events of these sessions
/// only gives the same cases, which lets a trainer or an evaluation read a log of any size with
/// memory bounded by the cases it draws.
pub fn sessions_read(sessions: &[usize], mut cases_of: impl FnMut(usize) -> usize, config: &CaseConfig) -> Vec<usize> {
    let order = visit_order(sessions, &mut Rng::new(config.seed));
    let mut drawn = 0usize;
    let mut read = Vec::new();
    for s in order {
        if drawn >= config.max_cases {
            break;
        }
        let n = cases_of(s);
        if n > 0 {
            read.push(s);
            drawn += n;
        }
    }
    read
}

/// The last `k` events of the listener's sessions that ended before session `s` started.
fn prior_events(dataset: &Dataset, s: usize, k: usize) -> Vec<Interaction> {
    let session = &dataset.sessions[s];
    let (Some(user), Some(start)) = (&session.user, session.events.first().map(|e| e.time_ms)) else {
        return Vec::new();
    };
    if k == 0 {
        return Vec::new();
    }
    let mut earlier: Vec<&Interaction> = dataset
        .sessions
        .iter()
        .filter(|o| o.user.as_ref() == Some(user) && o.events.last().is_some_and(|e| e.time_ms < start))
        .flat_map(|o| &o.events)
        .collect();
    earlier.sort_by(|a, b| a.time_ms.total_cmp(&b.time_ms));
    earlier[earlier.len().saturating_sub(k)..].iter().map(|&&e| e).collect()
}

/// Up to `k` elements spread evenly over `v`, always including the last.
fn spread(v: &[usize], k: usize) -> Vec<usize> {
    if v.len() <= k {
        return v.to_vec();
    }
    (0..k).map(|i| v[(i + 1) * v.len() / k - 1]).collect()
}

/// The model's features for a case, with the history's embeddings and neighbour lists: one
/// shelf in server order, serverScore = 1 − rank/N.
pub fn case_features(case: &RankingCase, dataset: &Dataset, history: &History) -> Features {
    let embeddings = &history.embeddings;
    let catalog = &dataset.catalog;
    let mut f = Features::new(embeddings.dim);
    let n_prefix = case.prefix.len();
    let mut events = Vec::with_capacity(n_prefix);
    for (p, e) in case.prefix.iter().enumerate() {
        let ms = e.ms_played.map(f64::from);
        f.push_event(embeddings.of(e.item), e.action, ms, n_prefix - 1 - p, item_type(&catalog.types, e.item));
        events.push(EventKey { item: e.item, artist: artist(dataset, e.item), action: e.action });
    }
    let n = case.candidates.len();
    let mut cands = Vec::with_capacity(n);
    for (rank, &item) in case.candidates.iter().enumerate() {
        let server_score = 1.0 - rank as f32 / n as f32;
        f.push_candidate(embeddings.of(item), item_type(&catalog.types, item), rank, 0, server_score);
        let neighbors = history.neighbors.get(item as usize).map(Vec::as_slice);
        cands.push(CandidateKey { item, artist: artist(dataset, item), neighbors });
    }
    f.set_similarity(&events, &cands);
    f
}

/// The case as the device would see it: one shelf of the candidates in server order
/// (serverScore = 1 − rank/N, the history's embeddings, artists and — with `neighbors` — the
/// neighbour lists), and the prefix as session events. `HomeRanker` scores it exactly as
/// [`case_features`] does (tested).
pub fn case_page(
    case: &RankingCase,
    dataset: &Dataset,
    history: &History,
    neighbors: bool,
) -> (HomePage, Vec<SessionEvent>) {
    let catalog = &dataset.catalog;
    let id = |i: u32| catalog.ids[i as usize].clone();
    let artist_id = |i: u32| artist(dataset, i).map(|a| catalog.artist_ids[a as usize].clone());
    let n = case.candidates.len();
    let items = case
        .candidates
        .iter()
        .enumerate()
        .map(|(rank, &i)| Item {
            id: id(i),
            item_type: item_type(&catalog.types, i),
            server_score: Some(1.0 - rank as f32 / n as f32),
            embedding: history.embeddings.of(i).to_vec(),
            artist_id: artist_id(i),
            duration_ms: None,
            neighbors: neighbors.then(|| {
                let list = history.neighbors.get(i as usize).map_or(&[][..], Vec::as_slice);
                list.iter().map(|&(j, w)| Neighbor { id: id(j), weight: w }).collect()
            }),
        })
        .collect();
    let shelf =
        Shelf { id: "case".into(), title: String::new(), pinned: false, min_items: None, max_items: None, items };
    let page = HomePage {
        page_id: format!("case-{}", dataset.sessions[case.session].id),
        embedding_dim: history.embeddings.dim,
        shelves: vec![shelf],
    };
    let events = case
        .prefix
        .iter()
        .map(|e| {
            let mut ev = SessionEvent::new(id(e.item), e.action);
            ev.ms_played = e.ms_played.map(f64::from);
            ev.embedding = Some(history.embeddings.of(e.item).to_vec());
            ev.item_type = Some(item_type(&catalog.types, e.item));
            ev.artist_id = artist_id(e.item);
            ev
        })
        .collect();
    (page, events)
}

fn artist(dataset: &Dataset, item: u32) -> Option<u32> {
    dataset.catalog.artists.get(item as usize).copied().flatten()
}

fn item_type(types: &[ItemType], item: u32) -> ItemType {
    types.get(item as usize).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::ServerRanking;
    use crate::rng::Rng;

    /// The key sort gives the order of comparing (score by `total_cmp`, descending; index) through
    /// the slice, with ties, both zeros, infinities and NaNs among the scores.
    #[test]
    fn server_ranking_sorts_by_score_then_index() {
        let mut rng = Rng::new(7);
        let specials = [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::MIN_POSITIVE, -1.5, 1.5];
        let scores: Vec<f32> = (0..5000)
            .map(|i| match i % 4 {
                0 => specials[rng.below(specials.len())],
                1 => (rng.below(7) as f32 - 3.0) * 0.25,
                _ => (rng.below(1 << 20) as f32 / 1024.0 - 512.0) * 1e-3,
            })
            .collect();
        let mut expected: Vec<u32> = (0..scores.len() as u32).collect();
        expected.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
        let ranking = ServerRanking::new(&scores);
        assert_eq!(ranking.ranked, expected);
        for (r, &i) in ranking.ranked.iter().enumerate() {
            assert_eq!(ranking.position_of[i as usize], r);
        }
    }
}
