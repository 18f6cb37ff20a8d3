// The package's HomeRanker: module loading and model bytes in JS, everything else in Rust.
// `platform` supplies how bytes are found (fetch in browsers, fs in Node); see index.js, node.js.

import { DEFAULT_MODEL } from "./default-model.js";
// Both glue modules are imported statically (they are small; only the chosen flavour's .wasm is
// ever fetched): a dynamic import would force bundlers into code splitting, which Vite's default
// (iife) worker format refuses.
import * as simdGlue from "../pkg/simd/homerank.js";
import * as plainGlue from "../pkg/plain/homerank.js";

let wasmReady = null;

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

/** Loads and instantiates the right wasm module once (simd when the engine has it). */
export function initWasm(platform, options = {}) {
  if (!wasmReady) {
    const flavour = options.simd ?? simdSupported() ? "simd" : "plain";
    wasmReady = (async () => {
      const glue = flavour === "simd" ? simdGlue : plainGlue;
      const source = await platform.wasmSource(flavour);
      const exports = await glue.default({ module_or_path: source });
      return { glue, flavour, memory: exports.memory };
    })().catch((e) => {
      wasmReady = null;
      throw loadError(`homerank: could not load the ${flavour} wasm module: ${e.message}`, e);
    });
  }
  return wasmReady;
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

    /** Loads a model from its bytes; `options.sha256` (hex) is checked when given. */
    static async load(modelBytes, options = {}) {
      const { glue, flavour, memory } = await initWasm(platform, options);
      return new HomeRanker(glue.WasmRanker.fromBytes(bytesOf(modelBytes), options.sha256 ?? undefined), flavour, memory);
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
