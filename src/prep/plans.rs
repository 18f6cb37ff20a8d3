//! The preparation plans, as SQL over the Parquet log (table `log`, see `super::log`) and over
//! the tables earlier stages wrote. Each function returns one query; `super::prepare` runs them
//! in order, writing each result as a table (`super::tables`) that later queries read.
//!
//! Every rule here is the in-memory path's rule, restated (the test `tests/prep.rs` checks
//! equality on a simulator log):
//!
//! | table | in memory |
//! |---|---|
//! | `session_groups`, `session_numbers`, `session_times` (scratch) | `log::load`'s sessions, numbered by first `seq`; their time ranks |
//! | `sessions` (numbering, `part`) | `Split::by_time` over sessions numbered by first `seq` |
//! | `items` | `log::load`'s catalogue |
//! | `events` (`pos`) | a session's events by `(timestamp_ms, seq)` |
//! | `stats_a` / `stats_b` (`n_events`, `n_recent`) | `CoOccurrence::count`, `ServerModel`'s counts |
//! | `pair_counts_K` (scratch: one per pass, then sums of up to four) | a share of both histories' pair counts |
//! | `pairs_a` / `pairs_b` | `CoOccurrence`'s symmetric pair counts |
//! | `neighbors_a` / `neighbors_b` | `CoOccurrence::neighbors`, clamped to [0, 1] |
//!
//! Scratch tables are written under the output's `scratch/` and removed when preparation ends.
//! `part` is the session's window: 0 history A, 1 training cases, 2 validation, 3 test.
//! History A is part 0, history B parts 0 and 1.

use crate::eval::WINDOW;

/// One pass over a range of sessions by number or by time rank, `from` (inclusive) to `to`
/// (exclusive), either end open. Plans whose memory would grow with the log (a join's hash
/// table of sessions, which cannot spill; a sort whose spills must all be merged at once) run
/// in passes over consecutive ranges, each holding only its range's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange {
    from: Option<u64>,
    to: Option<u64>,
}

impl KeyRange {
    /// The ranges of `[0, n)` that hold `per_pass` numbers each (the last one the rest); one
    /// open range when they all fit in one.
    pub fn passes(n: u64, per_pass: u64) -> Vec<KeyRange> {
        let per_pass = per_pass.max(1);
        let mut ends: Vec<Option<u64>> = (per_pass..n).step_by(per_pass as usize).map(Some).collect();
        ends.push(None);
        let mut from = None;
        ends.into_iter()
            .map(|to| {
                let pass = KeyRange { from, to };
                from = to;
                pass
            })
            .collect()
    }

    /// The condition that `column` is in the range.
    pub fn holds(&self, column: &str) -> String {
        match (self.from, self.to) {
            (None, None) => "TRUE".into(),
            (Some(f), None) => format!("{column} >= {f}"),
            (None, Some(t)) => format!("{column} < {t}"),
            (Some(f), Some(t)) => format!("{column} >= {f} AND {column} < {t}"),
        }
    }
}

/// Which history window a statistics table is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryPart {
    /// History A (window 0): scores the training cases.
    A,
    /// History B (windows 0 and 1): scores the validation and test cases.
    B,
}

impl HistoryPart {
    /// Both histories.
    pub const BOTH: [HistoryPart; 2] = [HistoryPart::A, HistoryPart::B];

    /// The suffix of its tables' names.
    pub fn suffix(self) -> &'static str {
        match self {
            HistoryPart::A => "a",
            HistoryPart::B => "b",
        }
    }

    /// The last part (window) it holds.
    pub fn last_window(self) -> u8 {
        match self {
            HistoryPart::A => 0,
            HistoryPart::B => 1,
        }
    }
}

/// Sessions in the log.
pub fn count_sessions() -> String {
    "SELECT COUNT(DISTINCT session_id) AS n FROM log".into()
}

/// Events in the log.
pub fn count_events() -> String {
    "SELECT COUNT(*) AS n FROM log".into()
}

/// Each session's first event (by `seq`), start, length and user: the `session_groups` scratch
/// table that [`sessions`] numbers. An aggregation alone, written before any sort reads it: in
/// one plan the aggregation's groups and the numbering's sort would hold memory at once, and the
/// sort could not spill its way out of a small memory pool.
pub fn session_groups() -> String {
    "SELECT session_id,
            MIN(CAST(seq AS BIGINT UNSIGNED)) AS first_seq,
            MIN(CAST(timestamp_ms AS DOUBLE)) AS start_ms,
            CAST(COUNT(*) AS BIGINT UNSIGNED) AS n_events,
            first_value(user_id ORDER BY CAST(seq AS BIGINT UNSIGNED)) AS user_id
     FROM log GROUP BY session_id"
        .into()
}

/// `session_groups` numbered by their first event (scratch table `session_numbers`).
pub fn session_numbers() -> String {
    "SELECT CAST(row_number() OVER (ORDER BY first_seq) - 1 AS INT UNSIGNED) AS session,
            session_id, user_id, start_ms, n_events
     FROM session_groups ORDER BY first_seq"
        .into()
}

/// Each session's rank by start time, ties by session number (scratch table `session_times`):
/// sorted apart from the sessions' ids and users, two numbers a row.
pub fn session_times() -> String {
    "SELECT session, CAST(row_number() OVER (ORDER BY start_ms, session) - 1 AS BIGINT UNSIGNED) AS by_time
     FROM session_numbers"
        .into()
}

/// Sessions numbered by their first event, their time rank and part (window), for the session
/// numbers in `pass`; `cuts` are the first time ranks of the training, validation and test
/// windows.
pub fn sessions(cuts: (usize, usize, usize), pass: &KeyRange) -> String {
    let (a, b, c) = cuts;
    format!(
        "SELECT n.session, n.session_id, n.user_id, n.start_ms, n.n_events, t.by_time,
                CAST(CASE WHEN t.by_time < {a} THEN 0 WHEN t.by_time < {b} THEN 1 WHEN t.by_time < {c} THEN 2 ELSE 3 END
                     AS TINYINT UNSIGNED) AS part
         FROM session_times t JOIN session_numbers n ON n.session = t.session
         WHERE {} AND {} ORDER BY n.session",
        pass.holds("t.session"),
        pass.holds("n.session"),
    )
}

/// Items numbered by their first event, with the details their last event giving each carries.
pub fn items() -> String {
    let latest = |column: &str| {
        format!("last_value({column} ORDER BY CAST(seq AS BIGINT UNSIGNED)) FILTER (WHERE {column} IS NOT NULL) AS {column}")
    };
    format!(
        "WITH i AS (
            SELECT item_id, MIN(CAST(seq AS BIGINT UNSIGNED)) AS first_seq,
                   {}, {}, {}, {}
            FROM log GROUP BY item_id)
         SELECT CAST(row_number() OVER (ORDER BY first_seq) - 1 AS INT UNSIGNED) AS item,
                item_id, item_type, artist_id, duration_ms, features
         FROM i ORDER BY item",
        latest("item_type"),
        latest("artist_id"),
        latest("duration_ms"),
        latest("features"),
    )
}

/// Every event of the sessions in `pass` with its session, position in the session, item and
/// part, by session and position. The passes' rows follow each other in session order, and
/// each pass's join holds only its sessions, its sort only their events.
pub fn events(pass: &KeyRange) -> String {
    format!(
        "WITH n AS (
            SELECT s.session, i.item, CAST(l.seq AS BIGINT UNSIGNED) AS seq, l.action,
                   CAST(l.ms_played AS DOUBLE) AS ms_played, CAST(l.timestamp_ms AS DOUBLE) AS time_ms, s.part
            FROM log l JOIN (SELECT session, session_id, part FROM sessions WHERE {}) s ON l.session_id = s.session_id
                 JOIN items i ON l.item_id = i.item_id)
         SELECT session,
                CAST(row_number() OVER (PARTITION BY session ORDER BY time_ms, seq) - 1 AS INT UNSIGNED) AS pos,
                item, action, ms_played, time_ms, part
         FROM n ORDER BY session, time_ms, seq",
        pass.holds("session"),
    )
}

/// Sessions in history `h`: its length, whose `len · 9 / 10`-th session by time starts the
/// "recent" popularity (`ServerModel::fit`).
pub fn history_length(h: HistoryPart) -> String {
    format!("SELECT COUNT(*) AS n FROM sessions WHERE part <= {}", h.last_window())
}

/// The start of the session at time rank `by_time`.
pub fn session_start(by_time: usize) -> String {
    format!("SELECT start_ms FROM sessions WHERE by_time = {by_time}")
}

/// Per item of history `h`: its events, and those at or after `recent_from`.
pub fn stats(h: HistoryPart, recent_from: f64) -> String {
    format!(
        "SELECT item, CAST(COUNT(*) AS INT UNSIGNED) AS n_events,
                CAST(SUM(CASE WHEN time_ms >= {recent_from:?} THEN 1 ELSE 0 END) AS INT UNSIGNED) AS n_recent
         FROM events WHERE part <= {} GROUP BY item ORDER BY item",
        h.last_window()
    )
}

/// Symmetric pair counts among the sessions in `pass` (scratch table `pair_counts_K` for pass
/// `K`, by `(a, b)`), of both histories: `n_b` in history B, `n_a` in history A (its
/// sessions, window 0, are B's first). Each event pairs with the next `WINDOW` events of its
/// session whose item differs, and each pair counts in both rows. Both directions come from one
/// window over the session's positions: an event's `lead`s give its row's pairs with later
/// events, its `lag`s the reversed pairs of earlier ones. On the local engine the window reads
/// `events` in its declared written order (no sort; Ballista, where no order is declared,
/// sorts), and one aggregation serves every offset and both histories; neither a self-join nor
/// a union that would run the window once per offset. Its groups are the pass's
/// pairs, so its memory does not grow with the log.
pub fn pair_counts(pass: &KeyRange) -> String {
    let over = "OVER (PARTITION BY session ORDER BY pos)";
    let near: Vec<String> =
        (1..=WINDOW).flat_map(|d| [format!("lead(item, {d}) {over}"), format!("lag(item, {d}) {over}")]).collect();
    format!(
        "WITH l AS (SELECT item AS a, part, make_array({near}) AS near FROM events WHERE part <= {b} AND {range}),
              p AS (SELECT a, part, unnest(near) AS b FROM l)
         SELECT a, b, CAST(SUM(CASE WHEN part <= {a} THEN 1 ELSE 0 END) AS INT UNSIGNED) AS n_a,
                CAST(COUNT(*) AS INT UNSIGNED) AS n_b
         FROM p WHERE b IS NOT NULL AND b <> a GROUP BY a, b ORDER BY a, b",
        near = near.join(", "),
        a = HistoryPart::A.last_window(),
        b = HistoryPart::B.last_window(),
        range = pass.holds("session"),
    )
}

/// The pair counts of `tables` (each with [`pair_counts`]' columns, by `(a, b)`) summed, by
/// `(a, b)`. Each table is read in its order and their union merged in that order, so the sum
/// streams, holding a few batches per table, rather than aggregating every pair in one hash
/// table that would spill and merge its spills.
pub fn sum_pair_counts(tables: &[String]) -> String {
    format!(
        "SELECT a, b, CAST(SUM(n_a) AS INT UNSIGNED) AS n_a, CAST(SUM(n_b) AS INT UNSIGNED) AS n_b
         FROM ({}) GROUP BY a, b ORDER BY a, b",
        union_of(tables, "a, b, n_a, n_b")
    )
}

/// Symmetric pair counts of history `h` from the pair-count `tables`, summed as
/// [`sum_pair_counts`] does; pairs only history B saw are left out of A's.
pub fn pairs(h: HistoryPart, tables: &[String]) -> String {
    let n = format!("n_{}", h.suffix());
    format!(
        "SELECT a, b, CAST(SUM({n}) AS INT UNSIGNED) AS n_pairs FROM ({})
         GROUP BY a, b HAVING SUM({n}) > 0 ORDER BY a, b",
        union_of(tables, &format!("a, b, {n}"))
    )
}

fn union_of(tables: &[String], columns: &str) -> String {
    tables.iter().map(|t| format!("SELECT {columns} FROM {t}")).collect::<Vec<_>>().join(" UNION ALL ")
}

/// Each item's `k` nearest items of history `h` by the item-kNN cosine c/√(n_a·n_b), computed in
/// f32 as `CoOccurrence::similarity` does; most similar first, ties by smaller item; weights
/// clamped to 1 as a page carries them.
pub fn neighbors(h: HistoryPart, k: usize) -> String {
    let s = h.suffix();
    format!(
        "WITH c AS (SELECT item, CAST(n_events AS FLOAT) AS n FROM stats_{s}),
              sims AS (SELECT p.a, p.b, CAST(p.n_pairs AS FLOAT) / sqrt(ca.n * cb.n) AS sim
                       FROM pairs_{s} p JOIN c ca ON p.a = ca.item JOIN c cb ON p.b = cb.item),
              ranked AS (SELECT a, b, sim, row_number() OVER (PARTITION BY a ORDER BY sim DESC, b) AS r FROM sims)
         SELECT a AS item, CAST(r - 1 AS TINYINT UNSIGNED) AS nb_rank, b AS neighbor,
                CAST(least(sim, CAST(1 AS FLOAT)) AS FLOAT) AS weight
         FROM ranked WHERE r <= {k} ORDER BY item, nb_rank"
    )
}

#[cfg(test)]
mod tests {
    use super::KeyRange;

    #[test]
    fn passes_cover_the_numbers_once_in_order() {
        let conditions = |n, per_pass| KeyRange::passes(n, per_pass).iter().map(|p| p.holds("k")).collect::<Vec<_>>();
        assert_eq!(conditions(10, 10), ["TRUE"]);
        assert_eq!(conditions(0, 4), ["TRUE"]);
        assert_eq!(conditions(10, 0), conditions(10, 1));
        assert_eq!(conditions(10, 4), ["k < 4", "k >= 4 AND k < 8", "k >= 8"]);
        assert_eq!(conditions(8, 4), ["k < 4", "k >= 4"]);
    }
}
