//! Writing an [`EvalReport`]: a terminal table, a markdown report and an SVG bar plot with the
//! 95% intervals (hand-written SVG; no plotting dependency).

use std::fmt::Write;

use super::metrics::Estimate;
use super::protocol::{EvalReport, Inputs, MethodRow, Table};

/// The row label: on-device methods are marked, the rest need the server's statistics.
fn label(r: &MethodRow) -> String {
    match r.inputs {
        Inputs::Device => format!("{} ◆", r.name),
        Inputs::Server => r.name.clone(),
    }
}

const LEGEND: &str = "◆ = runs on the device: the page (embeddings, optional neighbour lists, server rank) and \
                      the session only; unmarked rows use the server's statistics (co-occurrence counts, \
                      session index, popularity) that no device has.";

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
                writeln!(out, "| {} | {} | {} | {} | {} |", label(r), ci(&r.ndcg10), ci(&r.mrr), ci(&r.hr10), skip(r));
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
        let _ = writeln!(out, "| {} | {} |", label(r), cells.join(" | "));
    }
    out
}

fn deltas(out: &mut String, t: &Table, markdown: bool) {
    for (name, d) in &t.deltas {
        if markdown {
            let _ = writeln!(out, "- HR-S Q8_0 − {name}: ΔNDCG@10 = {} — {}", ci(d), verdict(d));
        } else {
            let _ = writeln!(out, "HR-S Q8_0 − {name}: ΔNDCG@10 {} {}", ci(d), verdict(d));
        }
    }
}

impl EvalReport {
    fn header(&self) -> String {
        format!(
            "{} items; sessions by start time: history A {} → training cases {} → validation {} → test {}; \
             test cases scored with statistics of the history before the validation window; {} candidates; \
             model `{}`; 95% percentile-bootstrap intervals, Δ rows paired.",
            self.n_items,
            self.n_sessions[0],
            self.n_sessions[1],
            self.n_sessions[2],
            self.n_sessions[3],
            self.n_cands.map_or("all".to_string(), |n| n.to_string()),
            self.model_id
        )
    }

    fn payload(&self) -> String {
        let (plain, with) = self.page_bytes;
        format!(
            "a {}-candidate page is {:.1} KB of JSON, {:.1} KB with neighbour lists (+{:.0} %)",
            self.n_cands.map_or("full".to_string(), |n| n.to_string()),
            plain / 1e3,
            with / 1e3,
            (with / plain.max(1.0) - 1.0) * 100.0
        )
    }

    /// The summary printed by `homerank eval`.
    pub fn terminal_summary(&self) -> String {
        let mut out = format!("{}: {}\n", self.dataset, self.header());
        let _ = writeln!(out, "window lists ({} cases):", self.window.n_cases);
        out.push_str(&table(&self.window.rows, false));
        deltas(&mut out, &self.window, false);
        let _ = writeln!(out, "Q8_0 vs f32: {:.2}% relative NDCG@10 gap", self.q8_relative_gap * 100.0);
        let _ = writeln!(
            out,
            "server top-{} lists that hold the target ({} cases):",
            self.n_cands.unwrap_or(0),
            self.server_top.n_cases
        );
        out.push_str(&table(&self.server_top.rows, false));
        deltas(&mut out, &self.server_top, false);
        if let Some((n, rows)) = &self.full_catalogue {
            let _ = writeln!(out, "full catalogue ({n} cases):");
            out.push_str(&table(rows, false));
        }
        let _ = writeln!(out, "{LEGEND}\npayload: {}\n({:.1} s)", self.payload(), self.seconds);
        out
    }

    /// The markdown report; `svg_name` is the plot's file name, linked from the report.
    pub fn markdown(&self, svg_name: Option<&str>) -> String {
        let mut out = format!("## {}\n\n{}\n\n", self.dataset, self.header());
        let _ = writeln!(
            out,
            "**Window lists** ({} cases): a window of the server's ranking around the true next positive, at a \
             random offset (the target sits among items the server ranks alike; the server order is near random \
             here by construction), the session's skipped items inserted.\n",
            self.window.n_cases
        );
        out.push_str(&table(&self.window.rows, true));
        out.push('\n');
        deltas(&mut out, &self.window, true);
        let _ = writeln!(out, "- Q8_0 vs f32: {:.2}% relative NDCG@10 gap\n", self.q8_relative_gap * 100.0);
        let _ = writeln!(
            out,
            "**The server's own top {}** ({} cases: only positions whose next positive the server already ranked \
             in its top list):\n",
            self.n_cands.map_or("list".to_string(), |n| n.to_string()),
            self.server_top.n_cases
        );
        out.push_str(&table(&self.server_top.rows, true));
        out.push('\n');
        deltas(&mut out, &self.server_top, true);
        let _ = writeln!(out, "\n{LEGEND}\n\nPayload: {}.\n", self.payload());
        out.push_str("NDCG@10 by session length (events before the target), window lists:\n\n");
        out.push_str(&bucket_table(&self.window.rows));
        if let Some((n, rows)) = &self.full_catalogue {
            let _ = writeln!(out, "\nFull-catalogue ranking ({n} cases, every item a candidate):\n");
            out.push_str(&table(rows, true));
        }
        if let Some(svg) = svg_name {
            let _ = writeln!(out, "\n![NDCG@10 with 95% intervals]({svg})");
        }
        out
    }

    /// The README's compact block for this dataset: NDCG@10 of every method on both tables and
    /// HR-S Q8_0's paired differences, with the command that made it.
    pub fn readme_section(&self, command: &str, report_link: Option<&str>) -> String {
        let mut out = format!("**{}** — `{}`", self.dataset, command);
        if let Some(link) = report_link {
            let _ = write!(out, " ([full report]({link}))");
        }
        let _ = writeln!(
            out,
            "\n\n| method | NDCG@10, window lists ({} cases) | Δ HR-S Q8_0 | NDCG@10, server top {} ({} cases) | Δ HR-S Q8_0 |\n|---|---|---|---|---|",
            self.window.n_cases,
            self.n_cands.map_or("list".to_string(), |n| n.to_string()),
            self.server_top.n_cases
        );
        let delta =
            |t: &Table, name: &str| t.deltas.iter().find(|(n, _)| n == name).map_or("".to_string(), |(_, d)| ci(d));
        for (w, s) in self.window.rows.iter().zip(&self.server_top.rows) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                label(w),
                ci(&w.ndcg10),
                delta(&self.window, &w.name),
                ci(&s.ndcg10),
                delta(&self.server_top, &s.name)
            );
        }
        let _ = write!(
            out,
            "\n{} Q8_0 within {:.2}% of f32; {}; {:.1} s.",
            self.header(),
            self.q8_relative_gap * 100.0,
            self.payload(),
            self.seconds
        );
        out
    }

    /// Horizontal bars of NDCG@10 per method with interval whiskers.
    pub fn svg(&self) -> String {
        let (w, row_h, left, top) = (700.0, 28.0, 230.0, 36.0);
        let rows = &self.window.rows;
        let h = top + row_h * rows.len() as f64 + 30.0;
        let max = rows.iter().map(|r| r.ndcg10.hi).fold(0.0, f64::max).max(1e-9) * 1.1;
        let x = |v: f64| left + (w - left - 20.0) * v / max;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
             <text x=\"{left}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{} — NDCG@10, window lists (95% CI)</text>\n",
            escape(&self.dataset)
        );
        for (i, r) in rows.iter().enumerate() {
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
                escape(&label(r)),
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
