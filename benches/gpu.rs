//! GPU vs CPU: full `rerank` time per page size on whatever adapter wgpu finds (lavapipe or
//! llvmpipe on machines without a GPU), the shipped model, L = 64 events. Sets `auto`'s
//! expectations: it keeps, per page-size class, whichever of the two is faster here.
//!
//! `cargo bench --features gpu --bench gpu` (add `-- --quick` for a short run; `WGPU_BACKEND=gl`
//! for the GL backend).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::make_page;
use homerank::model::ModelFile;
use homerank::GpuSettings;
use homerank::{Action, Backend, HomePage, HomeRanker, RerankOptions, SessionEvent};

fn p50(ranker: &mut HomeRanker, page: &HomePage, budget: Duration) -> (f64, usize) {
    let opts = RerankOptions::default();
    ranker.rerank(page, &opts).unwrap();
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || times.len() < 3 {
        let t = Instant::now();
        let r = ranker.rerank(page, &opts).unwrap();
        assert!(r.backend_fallback.is_none() && r.fallback.is_none(), "{:?} {:?}", r.backend_fallback, r.fallback);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times.len())
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = if quick { Duration::from_millis(300) } else { Duration::from_secs(2) };
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/homerank-s.gguf")).unwrap();
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let make = |backend: Backend| {
        let mut r = HomeRanker::from_bytes(&bytes).unwrap();
        r.set_backend(backend);
        r
    };
    let mut gpu = make(Backend::Gpu);
    // Software adapters take seconds on the largest pages: allow them.
    let settings = GpuSettings { timeout: Duration::from_secs(300), ..GpuSettings::default() };
    if let Err(e) = pollster::block_on(gpu.attach_gpu(&file, &settings)) {
        println!("no GPU adapter ({e}): nothing to compare");
        return;
    }
    println!("adapter: {}", gpu.stats().gpu_adapter.unwrap_or_default());
    println!("{:>6} {:>4} {:>11} {:>11} {:>9}", "N", "L", "cpu p50 ms", "gpu p50 ms", "gpu/cpu");
    for n in [50, 200, 1000, 2000, 5000] {
        let per_shelf = 50.min(n);
        let page = make_page(n / per_shelf, per_shelf, 32, 7);
        let ids: Vec<String> = page.items().map(|(_, _, i)| i.id.clone()).collect();
        let events: Vec<SessionEvent> = (0..64)
            .map(|k| SessionEvent::new(&ids[(k * 7) % ids.len()], [Action::Play, Action::Skip][k % 2]))
            .collect();
        let mut cpu = make(Backend::Cpu);
        cpu.observe_all(&events).unwrap();
        gpu.forget();
        gpu.observe_all(&events).unwrap();
        let (c, _) = p50(&mut cpu, &page, budget);
        let (g, _) = p50(&mut gpu, &page, budget);
        println!("{n:>6} {:>4} {c:>11.2} {g:>11.2} {:>8.1}×", 64, g / c);
        println!(
            "{{\"bench\":\"gpu\",\"n\":{n},\"l\":64,\"cpu_p50_ms\":{c:.3},\"gpu_p50_ms\":{g:.3},\"adapter\":{:?}}}",
            gpu.stats().gpu_adapter.unwrap_or_default()
        );
    }
}
