//! Co-occurrence statistics of a list of "history" sessions (the caller keeps every evaluated
//! session out of it): item counts, symmetric pair counts within a window, the item-kNN cosine
//! built on them, each item's nearest neighbours, and the positive-PMI matrix that
//! [`super::svd::ppmi_embeddings`] factorizes.
//!
//! Counting rule (the one item-kNN has always used): every event adds 1 to its item's count;
//! for each event at position `p`, each event at `p+1 ..= p+WINDOW` with a *different* item adds
//! 1 to the pair's count (so a pair that meets several times counts each time, and an item
//! repeated next to itself counts nothing). Pair counts are stored in both rows, CSR-like.

use super::svd::SparseRows;
use crate::dataset::Dataset;

/// Positions after an event whose items pair with it.
pub const WINDOW: usize = 5;

/// Item counts and symmetric pair counts of the history sessions.
#[derive(Debug, Clone, Default)]
pub struct CoOccurrence {
    counts: Vec<f32>,
    /// Row `i` is `cols[offsets[i]..offsets[i + 1]]` (increasing item ids) with `vals` (counts).
    offsets: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f32>,
}

impl CoOccurrence {
    /// Counts over `sessions` (indices into `dataset.sessions`), for every item of the catalogue.
    pub fn fit(dataset: &Dataset, sessions: &[usize]) -> Self {
        let n = dataset.catalog.len();
        let mut counts = vec![0f32; n];
        let each_pair = |f: &mut dyn FnMut(u32, u32)| {
            for &s in sessions {
                let events = &dataset.sessions[s].events;
                for (p, e) in events.iter().enumerate() {
                    for o in &events[p + 1..(p + 1 + WINDOW).min(events.len())] {
                        if o.item != e.item {
                            f(e.item, o.item);
                        }
                    }
                }
            }
        };
        // Two passes: row lengths (with repeats), then the entries; then sort and merge each row.
        let mut offsets = vec![0usize; n + 1];
        each_pair(&mut |i, j| {
            offsets[i as usize + 1] += 1;
            offsets[j as usize + 1] += 1;
        });
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut raw = vec![0u32; offsets[n]];
        let mut next = offsets.clone();
        each_pair(&mut |i, j| {
            raw[next[i as usize]] = j;
            next[i as usize] += 1;
            raw[next[j as usize]] = i;
            next[j as usize] += 1;
        });
        let mut co = CoOccurrence { counts: Vec::new(), offsets: vec![0], cols: Vec::new(), vals: Vec::new() };
        for i in 0..n {
            let row = &mut raw[offsets[i]..offsets[i + 1]];
            row.sort_unstable();
            let mut k = 0;
            while k < row.len() {
                let start = k;
                while k < row.len() && row[k] == row[start] {
                    k += 1;
                }
                co.cols.push(row[start]);
                co.vals.push((k - start) as f32);
            }
            co.offsets.push(co.cols.len());
        }
        for &s in sessions {
            for e in &dataset.sessions[s].events {
                counts[e.item as usize] += 1.0;
            }
        }
        co.counts = counts;
        co
    }

    /// Statistics read back from a prepared directory (`prep::PreparedTables::co_occurrence`):
    /// item counts, and rows of pair counts as `fit` lays them out (row `i` is
    /// `cols[offsets[i]..offsets[i + 1]]`, increasing, with `vals`).
    pub fn from_parts(counts: Vec<f32>, offsets: Vec<usize>, cols: Vec<u32>, vals: Vec<f32>) -> Self {
        assert_eq!(offsets.len(), counts.len() + 1, "one offset per row, plus the end");
        assert_eq!(cols.len(), vals.len(), "a count per entry");
        CoOccurrence { counts, offsets, cols, vals }
    }

    /// Items of the catalogue (rows).
    pub fn n_items(&self) -> usize {
        self.counts.len()
    }

    /// Events of `item` in the history (0 for an unknown item).
    pub fn count(&self, item: u32) -> f32 {
        self.counts.get(item as usize).copied().unwrap_or(0.0)
    }

    /// Items `item` co-occurred with (increasing ids) and the pair counts.
    pub fn row(&self, item: u32) -> (&[u32], &[f32]) {
        let i = item as usize;
        if i >= self.n_items() {
            return (&[], &[]);
        }
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }

    /// Times `a` and `b` (different items) met within the window.
    pub fn pair_count(&self, a: u32, b: u32) -> f32 {
        let (cols, vals) = self.row(a);
        cols.binary_search(&b).map_or(0.0, |k| vals[k])
    }

    /// Stored (item, other) entries: twice the number of distinct pairs.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Item-kNN cosine: c(a,b)/√(n_a·n_b) computed in f32 (c the pair count, n the item counts),
    /// 1 for `a == b`, 0 for items never together.
    pub fn similarity(&self, a: u32, b: u32) -> f64 {
        if a == b {
            return 1.0;
        }
        let c = self.pair_count(a, b);
        if c == 0.0 {
            return 0.0;
        }
        self.cosine(c, a, b) as f64
    }

    fn cosine(&self, c: f32, a: u32, b: u32) -> f32 {
        c / (self.counts[a as usize] * self.counts[b as usize]).sqrt()
    }

    /// The `k` items most similar to `item` by [`Self::similarity`] among those it co-occurred
    /// with (never itself), most similar first, ties by smaller id; fewer when it has fewer.
    pub fn neighbors(&self, item: u32, k: usize) -> Vec<(u32, f32)> {
        let (cols, vals) = self.row(item);
        let mut all: Vec<(u32, f32)> = cols.iter().zip(vals).map(|(&j, &c)| (j, self.cosine(c, item, j))).collect();
        let order = |x: &(u32, f32), y: &(u32, f32)| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0));
        if all.len() > k && k > 0 {
            all.select_nth_unstable_by(k - 1, order);
        }
        all.truncate(k);
        all.sort_unstable_by(order);
        all
    }

    /// [`Self::neighbors`] of every item.
    pub fn all_neighbors(&self, k: usize) -> Vec<Vec<(u32, f32)>> {
        (0..self.n_items() as u32).map(|i| self.neighbors(i, k)).collect()
    }

    /// The positive-PMI matrix of the pair counts (`n_items × n_items`, symmetric): with C the
    /// symmetric count matrix, T = Σ C and r the row sums of C, entry (a,b) is
    /// ln(C_ab·T/(r_a·r_b)) where that is positive; other entries (and the diagonal) are absent.
    pub fn ppmi(&self) -> SparseRows {
        let n = self.n_items();
        let rows: Vec<f64> =
            (0..n).map(|i| self.vals[self.offsets[i]..self.offsets[i + 1]].iter().map(|&v| v as f64).sum()).collect();
        let total: f64 = rows.iter().sum();
        // At most every pair is kept: reserving that avoids the doubling reallocations, which at
        // millions of pairs held up to three times the matrix at once.
        let mut m = SparseRows {
            n_rows: n,
            n_cols: n,
            offsets: Vec::with_capacity(n + 1),
            cols: Vec::with_capacity(self.nnz()),
            vals: Vec::with_capacity(self.nnz()),
        };
        m.offsets.push(0);
        for i in 0..n {
            let (cols, vals) = self.row(i as u32);
            for (&j, &c) in cols.iter().zip(vals) {
                let pmi = (c as f64 * total / (rows[i] * rows[j as usize])).ln();
                if pmi > 0.0 {
                    m.cols.push(j);
                    m.vals.push(pmi);
                }
            }
            m.offsets.push(m.cols.len());
        }
        m
    }
}
