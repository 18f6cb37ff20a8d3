// The package's HomeRanker: module loading and model bytes in JS, everything else in Rust.
// `platform` supplies how bytes are found (fetch in browsers, fs in Node); see index.js, node.js.

import { DEFAULT_MODEL } from "./default-model.js";
// Both glue modules are imported statically (they are small; only the chosen flavour's .wasm is
// ever fetched): a dynamic import would force bundlers into code splitting, which Vite's default
// (iife) worker format refuses.
import * as simdGlue from "../pkg/simd/homerank.js";
import * as plainGlue from "../pkg/plain/homerank.js";
import * as webgpuGlue from "../pkg/webgpu/homerank.js";

const GLUE = { simd: simdGlue, plain: plainGlue, webgpu: webgpuGlue };
const wasmReady = new Map();

/** Whether this page can use WebGPU (`navigator.gpu`; Node has none). */
export function webGpuAvailable() {
  return typeof navigator !== "undefined" && navigator.gpu != null;
}

/** Whether this engine runs WebAssembly SIMD (validates a tiny module using v128). */
export function simdSupported() {
  try {
    // (module (func (result v128) (v128.const i32x4 0 0 0 0)))
    return WebAssembly.validate(new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
    ]));
  } catch {
    return false;
  }
}

function loadError(message, cause) {
  const err = new Error(message, { cause });
  err.code = "LOAD";
  return err;
}

/**
 * The wasm module for these options: the WebGPU build when a backend other than "cpu" is asked
 * for and the page has WebGPU (and SIMD), else simd or plain.
 */
function flavourFor(options) {
  const simd = options.simd ?? simdSupported();
  const backend = options.backend ?? "cpu";
  if (backend !== "cpu" && simd && webGpuAvailable()) return "webgpu";
  return simd ? "simd" : "plain";
}

/** Loads and instantiates the chosen wasm module, once per flavour. */
export function initWasm(platform, options = {}) {
  const flavour = flavourFor(options);
  if (!wasmReady.has(flavour)) {
    const ready = (async () => {
      const glue = GLUE[flavour];
      const source = await platform.wasmSource(flavour);
      const exports = await glue.default({ module_or_path: source });
      return { glue, flavour, memory: exports.memory };
    })().catch((e) => {
      wasmReady.delete(flavour);
      throw loadError(`homerank: could not load the ${flavour} wasm module: ${e.message}`, e);
    });
    wasmReady.set(flavour, ready);
  }
  return wasmReady.get(flavour);
}

function bytesOf(model) {
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  if (ArrayBuffer.isView(model)) return new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
  const err = new TypeError("homerank: model bytes must be a Uint8Array, ArrayBuffer or typed array");
  err.code = "INVALID_MODEL";
  throw err;
}

/**
 * The listener simulator of the demo (a catalogue, a persona with drifting intent, its server
 * Home page and its reactions), from the same wasm module.
 */
export async function createSimulatorWith(platform, catalogSeed = 7, personaSeed = 1, options = {}) {
  const { glue } = await initWasm(platform, options);
  return new glue.WasmSimulator(catalogSeed, personaSeed);
}

export function makeHomeRanker(platform) {
  class HomeRanker {
    #inner;
    #flavour;
    #memory;

    constructor(inner, flavour, memory) {
      this.#inner = inner;
      this.#flavour = flavour;
      this.#memory = memory;
    }

    /**
     * Loads a model from its bytes; `options.sha256` (hex) is checked when given.
     * `options.backend`: "cpu" (the default), "gpu" or "auto" (WebGPU where the page has it and,
     * for "auto", where it measures faster; see `rerankAsync`).
     */
    static async load(modelBytes, options = {}) {
      const bytes = bytesOf(modelBytes);
      const { glue, flavour, memory } = await initWasm(platform, options);
      // One parse of the bytes; the GPU, when asked for, is set up from it in Rust, which also
      // records why it is not used (no WebGPU, no adapter, a module without GPU support).
      const inner = await glue.WasmRanker.load(bytes, options.sha256 ?? undefined, options.backend ?? "cpu");
      return new HomeRanker(inner, flavour, memory);
    }

    /** Loads the model shipped in the package, checking its manifest checksum. */
    static async loadDefault(options = {}) {
      const bytes = await platform.modelBytes(DEFAULT_MODEL.file, DEFAULT_MODEL.bytes, options.onProgress);
      return HomeRanker.load(bytes, { ...options, sha256: DEFAULT_MODEL.sha256 });
    }

    /** Records one event or an array of events; returns how many were recorded. */
    observe(events) {
      return this.#inner.observe(events);
    }

    /** Reranks a page; on any internal failure the server order comes back with `fallback` set. */
    rerank(page, options) {
      return this.#inner.rerank(page, options);
    }

    /**
     * Reranks a page on the backend chosen at load, awaiting the GPU when it is used; resolves
     * like `rerank` (a GPU failure scores that call on the CPU, with `backendFallback` set). The
     * ranker stays usable meanwhile; a rerank made then is scored on the CPU.
     */
    rerankAsync(page, options) {
      return this.#inner.rerankAsync(page, options);
    }

    /** "auto", "cpu" or "gpu" from now on ("gpu" needs the GPU attached at load). */
    setBackend(backend) {
      this.#inner.setBackend(backend);
    }

    /** Wipes every event and cached embedding. */
    forget() {
      this.#inner.forget();
    }

    stats() {
      return { ...this.#inner.stats(), wasm: this.#flavour, linearMemoryBytes: this.#memory?.buffer.byteLength ?? 0 };
    }

    get modelId() {
      return this.#inner.modelId;
    }

    get embeddingDim() {
      return this.#inner.embeddingDim;
    }

    /** Frees the wasm memory held by this ranker; it cannot be used afterwards. */
    free() {
      this.#inner.free();
    }
  }
  return HomeRanker;
}
