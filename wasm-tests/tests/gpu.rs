//! The WebGPU forward in the browser against the CPU engine compiled to the same wasm: in
//! headless Chromium (`--enable-unsafe-webgpu`, the SwiftShader adapter) through
//! wasm-bindgen-test. Node has no WebGPU: there the tests say so and pass. In a browser, a
//! missing adapter fails the test when the build had HOMERANK_REQUIRE_GPU=1 (as CI does).

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{make_page, similarity_features};
use homerank::testing::GpuModel;
use homerank::GpuSettings;
use homerank::model::cpu::{CpuModel, Kernels, Scratch};
use homerank::model::ModelFile;
use homerank::{Action, Backend, HomeRanker, RerankOptions, SessionEvent};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const MODEL: &[u8] = include_bytes!("../../models/homerank-s.gguf");
/// As natively (tests/gpu_parity.rs): against the CPU engine's f32 kernels, and against its
/// default int16 kernels.
const TOLERANCE: f32 = 2e-5;
const INT16_TOLERANCE: f32 = 2e-3;

fn in_browser() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"document".into()).is_ok_and(|d| !d.is_undefined())
}

/// `Err(reason)` to skip (Node, or no adapter where none is required).
fn skip_or_fail(e: homerank::Error) -> Result<(), String> {
    if in_browser() && option_env!("HOMERANK_REQUIRE_GPU") == Some("1") {
        panic!("HOMERANK_REQUIRE_GPU=1 and this browser gave no WebGPU adapter: {e}");
    }
    Err(format!("skipping: {e}"))
}

#[wasm_bindgen_test]
async fn webgpu_forward_matches_the_cpu_engine() {
    let file = ModelFile::from_bytes(MODEL).unwrap();
    let mut gpu = match GpuModel::new(&file.config, &file.tensors, &GpuSettings::default()).await {
        Ok(g) => g,
        Err(e) => return console_log!("{}", skip_or_fail(e).unwrap_err()),
    };
    console_log!("webgpu adapter: {:?}", gpu.adapter());
    let cpu = CpuModel::with_kernels(&file.config, &file.tensors, Kernels::F32).unwrap();
    let int16 = CpuModel::new(&file.config, &file.tensors).unwrap();
    for (n, l, seed) in [(1, 1, 1), (50, 16, 2), (200, 64, 3), (700, 64, 4)] {
        let f = similarity_features(n, l, 32, seed);
        let want = cpu.score(&f, &mut Scratch::default()).unwrap();
        let got = gpu.score(&f).await.unwrap();
        let diff = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        console_log!("webgpu n={n} l={l}: max |gpu − cpu f32| = {diff:.2e}");
        assert!(diff <= TOLERANCE, "n={n} l={l}: {diff}");
        let shipped = int16.score(&f, &mut Scratch::default()).unwrap();
        let diff = shipped.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        console_log!("webgpu n={n} l={l}: max |gpu − cpu int16| = {diff:.2e}");
        assert!(diff <= INT16_TOLERANCE, "n={n} l={l}: {diff}");
    }
}

#[wasm_bindgen_test]
async fn rerank_async_on_webgpu_gives_the_cpu_order() {
    let page = make_page(5, 20, 32, 21);
    let ids: Vec<String> = page.items().map(|(_, _, i)| i.id.clone()).collect();
    let events: Vec<SessionEvent> =
        (0..12).map(|k| SessionEvent::new(&ids[(k * 7) % ids.len()], [Action::Play, Action::Skip][k % 2])).collect();
    let mut gpu = HomeRanker::from_bytes(MODEL).unwrap();
    gpu.set_backend(Backend::Gpu);
    if let Err(e) = gpu.attach_gpu(&ModelFile::from_bytes(MODEL).unwrap(), &GpuSettings::default()).await {
        return console_log!("{}", skip_or_fail(e).unwrap_err());
    }
    let mut cpu = HomeRanker::from_bytes(MODEL).unwrap();
    gpu.observe_all(&events).unwrap();
    cpu.observe_all(&events).unwrap();
    let opts = RerankOptions::default();
    let g = gpu.rerank_async(&page, &opts).await.unwrap();
    let c = cpu.rerank(&page, &opts).unwrap();
    assert_eq!((g.backend.as_str(), g.backend_fallback.as_deref()), ("gpu", None));
    assert_eq!(g.order(), c.order());
    // The synchronous rerank cannot wait for the GPU in wasm: it scores on the CPU.
    assert!(gpu.rerank(&page, &opts).unwrap().backend.starts_with("cpu"));
}

/// The JS API's path (`WasmRanker.load` with a backend, rerankAsync), as the npm package's
/// WebGPU module runs it: the model bytes are sent once.
#[wasm_bindgen_test]
async fn js_api_attach_gpu_and_rerank_async() {
    use homerank::wasm::WasmRanker;
    use wasm_bindgen::JsValue;
    use wasm_bindgen_futures::JsFuture;

    let page = make_page(4, 12, 32, 22);
    let ids: Vec<String> = page.items().map(|(_, _, i)| i.id.clone()).collect();
    let events: Vec<SessionEvent> =
        (0..6).map(|k| SessionEvent::new(&ids[(k * 5) % ids.len()], Action::Skip)).collect();
    let mut ranker = WasmRanker::load_async(MODEL, None, Some("gpu".into()), None).await.unwrap();
    let stats = ranker.stats().unwrap();
    if let Some(message) = js_sys::Reflect::get(&stats, &"gpuError".into()).unwrap().as_string() {
        return console_log!("{}", skip_or_fail(homerank::Error::Gpu(message)).unwrap_err());
    }
    ranker.observe(serde_wasm_bindgen::to_value(&events).unwrap()).unwrap();
    let page_js = serde_wasm_bindgen::to_value(&page).unwrap();
    let pending = ranker.rerank_async(page_js.clone(), JsValue::UNDEFINED).unwrap();
    let result: homerank::RerankResult =
        serde_wasm_bindgen::from_value(JsFuture::from(pending).await.unwrap()).unwrap();
    assert_eq!((result.backend.as_str(), result.backend_fallback.as_deref()), ("gpu", None));
    let stats = ranker.stats().unwrap();
    let calls = js_sys::Reflect::get(&stats, &"gpuCalls".into()).unwrap().as_f64();
    assert_eq!(calls, Some(1.0));
    // While a GPU rerank is in flight the ranker stays usable: events and other reranks go on
    // (on the CPU, saying why), and the GPU comes back afterwards.
    let page_js2 = page_js.clone();
    let pending = JsFuture::from(ranker.rerank_async(page_js, JsValue::UNDEFINED).unwrap());
    JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL)).await.unwrap();
    ranker.observe(serde_wasm_bindgen::to_value(&events[0]).unwrap()).unwrap();
    let meanwhile: homerank::RerankResult = serde_wasm_bindgen::from_value(
        JsFuture::from(ranker.rerank_async(page_js2.clone(), JsValue::UNDEFINED).unwrap()).await.unwrap(),
    )
    .unwrap();
    assert!(meanwhile.backend.starts_with("cpu"), "{}", meanwhile.backend);
    assert!(meanwhile.backend_fallback.unwrap().contains("busy"));
    let first: homerank::RerankResult = serde_wasm_bindgen::from_value(pending.await.unwrap()).unwrap();
    assert_eq!(first.backend, "gpu");
    let after: homerank::RerankResult = serde_wasm_bindgen::from_value(
        JsFuture::from(ranker.rerank_async(page_js2, JsValue::UNDEFINED).unwrap()).await.unwrap(),
    )
    .unwrap();
    assert_eq!(after.backend, "gpu");
}
