//! Native rerank benchmark: full `rerank` (validate + featurize + forward + compose) for the
//! The budget shapes (docs/ARCHITECTURE.md, "Budgets"), on the seeded test model, Q8_0 and f32. Prints a table and JSON lines.
//!
//! `cargo bench --bench rerank` (add `-- --quick` for a short run).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{fixture_ranker, make_page};
use homerank::model::Precision;
use homerank::{Action, RerankOptions, SessionEvent};

/// Multiply-accumulate count ×2 of one HR-S forward (d=64, 4 heads, FFN 256, 2+2 layers, E=32).
fn flops(n: usize, l: usize) -> f64 {
    let (d, f, e) = (64.0, 256.0, 32.0);
    let (n, l) = (n as f64, l as f64);
    let embed = (n + l) * e * d;
    let attn_proj = |tq: f64, tk: f64| 2.0 * tq * d * d + 2.0 * tk * d * d + 2.0 * tq * tk * d;
    let ffn = |t: f64| 2.0 * t * d * f;
    let session = 2.0 * (attn_proj(l, l) + ffn(l));
    let cands = 2.0 * (attn_proj(n, n) + attn_proj(n, l) + ffn(n));
    2.0 * (embed + session + cands + n * d)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (warmup, measure) = if quick {
        (Duration::from_millis(200), Duration::from_millis(500))
    } else {
        (Duration::from_secs(1), Duration::from_secs(3))
    };
    let shapes = [(50, 16), (200, 64), (1000, 64), (5000, 64)];
    println!(
        "{:<8} {:>6} {:>4} {:>10} {:>10} {:>9} {:>7}",
        "precision", "N", "L", "p50 ms", "p90 ms", "GFLOP/s", "iters"
    );
    for precision in [Precision::Q8_0, Precision::F32] {
        for &(n, l) in &shapes {
            let per_shelf = 50.min(n);
            let page = make_page(n / per_shelf, per_shelf, 32, 7);
            let mut ranker = fixture_ranker(1, precision);
            ranker.rerank(&page, &RerankOptions::default()).unwrap();
            let ids: Vec<String> = page.items().map(|(_, _, i)| i.id.clone()).collect();
            let events: Vec<SessionEvent> = (0..l)
                .map(|k| {
                    SessionEvent::new(&ids[(k * 7) % ids.len()], [Action::Play, Action::Skip, Action::Like][k % 3])
                        .with_ms_played(k as f64 * 4000.0)
                })
                .collect();
            ranker.observe_all(&events).unwrap();
            let opts = RerankOptions::default();
            let start = Instant::now();
            while start.elapsed() < warmup {
                ranker.rerank(&page, &opts).unwrap();
            }
            let mut times = Vec::new();
            let start = Instant::now();
            while start.elapsed() < measure || times.len() < 5 {
                let t = Instant::now();
                let r = ranker.rerank(&page, &opts).unwrap();
                times.push(t.elapsed().as_secs_f64() * 1e3);
                assert!(r.fallback.is_none() && r.events_used == l);
            }
            times.sort_by(f64::total_cmp);
            let p50 = times[times.len() / 2];
            let p90 = times[times.len() * 9 / 10];
            let gflops = flops(n, l) / (p50 * 1e-3) / 1e9;
            println!(
                "{:<8} {:>6} {:>4} {:>10.3} {:>10.3} {:>9.2} {:>7}",
                precision.as_str(),
                n,
                l,
                p50,
                p90,
                gflops,
                times.len()
            );
            println!(
                "{{\"bench\":\"native-rerank\",\"precision\":\"{}\",\"n\":{n},\"l\":{l},\"p50_ms\":{p50:.4},\"p90_ms\":{p90:.4},\"gflops\":{gflops:.3},\"threads\":\"{}\"}}",
                precision.as_str(),
                std::thread::available_parallelism().map_or(1, |n| n.get())
            );
        }
    }
}
