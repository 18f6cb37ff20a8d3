//! Writing an [`EvalReport`]: a terminal table, a markdown report and an SVG bar plot with the
//! 95% intervals (hand-written SVG; no plotting dependency).

use std::fmt::Write;

use super::metrics::Estimate;
use super::protocol::{EvalReport, MethodRow};

fn ci(e: &Estimate) -> String {
    format!("{:.4} [{:.4}, {:.4}]", e.mean, e.lo, e.hi)
}

fn table(rows: &[MethodRow], markdown: bool) -> String {
    let mut out = String::new();
    let skip = |r: &MethodRow| r.skip3.as_ref().map_or("n/a".to_string(), ci);
    if markdown {
        out.push_str("| method | NDCG@10 | MRR | HR@10 | skip@3 (lower is better) |\n|---|---|---|---|---|\n");
        for r in rows {
            let _ =
                writeln!(out, "| {} | {} | {} | {} | {} |", r.name, ci(&r.ndcg10), ci(&r.mrr), ci(&r.hr10), skip(r));
        }
    } else {
        let _ =
            writeln!(out, "{:<20} {:>26} {:>26} {:>26} {:>26}", "method", "NDCG@10 [95% CI]", "MRR", "HR@10", "skip@3");
        for r in rows {
            let _ = writeln!(
                out,
                "{:<20} {:>26} {:>26} {:>26} {:>26}",
                r.name,
                ci(&r.ndcg10),
                ci(&r.mrr),
                ci(&r.hr10),
                skip(r)
            );
        }
    }
    out
}

fn bucket_table(rows: &[MethodRow]) -> String {
    let mut out = String::new();
    let labels: Vec<&str> = rows[0].buckets.iter().map(|(l, _)| l.as_str()).collect();
    let _ = writeln!(
        out,
        "| method | {} |",
        labels
            .iter()
            .map(|l| format!("{l} events (n={})", rows[0].buckets.iter().find(|b| b.0 == *l).map_or(0, |b| b.1.n)))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---|".repeat(labels.len()));
    for r in rows {
        let cells: Vec<String> =
            r.buckets.iter().map(|(_, e)| if e.n == 0 { "–".into() } else { format!("{:.4}", e.mean) }).collect();
        let _ = writeln!(out, "| {} | {} |", r.name, cells.join(" | "));
    }
    out
}

impl EvalReport {
    /// The summary printed by `homerank eval`.
    pub fn terminal_summary(&self) -> String {
        let mut out = format!(
            "{}: {} items, sessions train/valid/test {}/{}/{}, {} ranking cases of {} candidates, model {}\n",
            self.dataset,
            self.n_items,
            self.n_sessions[0],
            self.n_sessions[1],
            self.n_sessions[2],
            self.n_cases,
            self.n_cands.map_or("all".to_string(), |n| n.to_string()),
            self.model_id
        );
        out.push_str(&table(&self.rows, false));
        for (name, d) in &self.deltas {
            let _ = writeln!(out, "HR-S Q8_0 − {name}: ΔNDCG@10 {} {}", ci(d), verdict(d));
        }
        let _ = writeln!(out, "Q8_0 vs f32: {:.2}% relative NDCG@10 gap", self.q8_relative_gap * 100.0);
        if let Some((n, rows)) = &self.full_catalogue {
            let _ = writeln!(out, "full catalogue ({n} cases):");
            out.push_str(&table(rows, false));
        }
        let _ = writeln!(out, "({:.1} s)", self.seconds);
        out
    }

    /// The markdown report; `svg_name` is the plot's file name, linked from the report.
    pub fn markdown(&self, svg_name: Option<&str>) -> String {
        let mut out = format!("## {}\n\n", self.dataset);
        let _ = writeln!(
            out,
            "{} items; sessions train/valid/test {}/{}/{} (split by time); {} ranking cases, {} candidates each \
             (server top list with the true next positive and the session's skipped items inserted at their \
             server rank); model `{}`. 95% percentile-bootstrap intervals.\n",
            self.n_items,
            self.n_sessions[0],
            self.n_sessions[1],
            self.n_sessions[2],
            self.n_cases,
            self.n_cands.map_or("all".to_string(), |n| n.to_string()),
            self.model_id
        );
        out.push_str(&table(&self.rows, true));
        out.push('\n');
        for (name, d) in &self.deltas {
            let _ = writeln!(out, "- HR-S Q8_0 − {name}: ΔNDCG@10 = {} — {}", ci(d), verdict(d));
        }
        let _ = writeln!(out, "- Q8_0 vs f32: {:.2}% relative NDCG@10 gap\n", self.q8_relative_gap * 100.0);
        out.push_str("NDCG@10 by session length (events before the target):\n\n");
        out.push_str(&bucket_table(&self.rows));
        if let Some((n, rows)) = &self.full_catalogue {
            let _ = writeln!(out, "\nFull-catalogue ranking ({n} cases, every item a candidate):\n");
            out.push_str(&table(rows, true));
        }
        if let Some(svg) = svg_name {
            let _ = writeln!(out, "\n![NDCG@10 with 95% intervals]({svg})");
        }
        out
    }

    /// Horizontal bars of NDCG@10 per method with interval whiskers.
    pub fn svg(&self) -> String {
        let (w, row_h, left, top) = (640.0, 28.0, 170.0, 36.0);
        let h = top + row_h * self.rows.len() as f64 + 30.0;
        let max = self.rows.iter().map(|r| r.ndcg10.hi).fold(0.0, f64::max).max(1e-9) * 1.1;
        let x = |v: f64| left + (w - left - 20.0) * v / max;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
             <text x=\"{left}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{} — NDCG@10 (95% CI)</text>\n",
            escape(&self.dataset)
        );
        for (i, r) in self.rows.iter().enumerate() {
            let y = top + row_h * i as f64;
            let color = if r.name.starts_with("HR-S") { "#1db954" } else { "#8a8f98" };
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
                 <rect x=\"{left}\" y=\"{:.1}\" width=\"{:.1}\" height=\"18\" fill=\"{color}\"/>\
                 <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#222\" stroke-width=\"1.5\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222\">{:.3}</text>",
                left - 8.0,
                y + 13.0,
                escape(&r.name),
                y,
                x(r.ndcg10.mean) - left,
                x(r.ndcg10.lo),
                x(r.ndcg10.hi),
                y + 9.0,
                y + 9.0,
                x(r.ndcg10.hi) + 4.0,
                y + 13.0,
                r.ndcg10.mean
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn verdict(d: &Estimate) -> &'static str {
    if d.lo > 0.0 {
        "better (interval above 0)"
    } else if d.hi < 0.0 {
        "worse (interval below 0)"
    } else {
        "no significant difference"
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
