// The package's HomeRanker: module loading and model bytes in JS, everything else in Rust.
// `platform` supplies how a flavour's module is instantiated and how model bytes are found
// (streaming from the package's URL in browsers, the file system in Node); see index.js, node.js.

import { DEFAULT_MODEL } from "./default-model.js";
import { asHomerankError, checkOption, homerankError, messageOf, modelBytes, readOptions } from "./boundary.js";

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

/**
 * Whether this engine runs WebAssembly relaxed SIMD (validates a tiny module using
 * `f32x4.relaxed_madd`): Chromium and Node ≥ 22 do by default, Node 20 only with
 * `--experimental-wasm-relaxed-simd`.
 */
export function relaxedSimdSupported() {
  try {
    // (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0))))
    return WebAssembly.validate(new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
      253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 133, 2, 11,
    ]));
  } catch {
    return false;
  }
}

function loadError(message, cause) {
  return homerankError("LOAD", message, cause);
}

/**
 * The wasm module for these options: the WebGPU build when a backend other than "cpu" is asked
 * for and the page has WebGPU (and SIMD); else the relaxed-SIMD build where the engine has it
 * (unless `relaxedSimd: false`), simd, or plain.
 */
function flavourFor({ simd, relaxedSimd, backend }) {
  checkOption(simd, "boolean", "simd");
  checkOption(relaxedSimd, "boolean", "relaxedSimd");
  const useSimd = simd ?? simdSupported();
  // A backend that is not a string is refused by the Rust side, with the others' checks.
  if (typeof backend === "string" && backend !== "cpu" && useSimd && webGpuAvailable()) return "webgpu";
  if (!useSimd) return "plain";
  return relaxedSimd !== false && relaxedSimdSupported() ? "relaxed" : "simd";
}

const LOAD_OPTIONS = ["sha256", "backend", "simd", "relaxedSimd", "onProgress", "midTerm"];

const DAY_MS = 86_400_000;
const DEFAULT_PROFILE_KEY = "homerank-profile";

/**
 * The `midTerm` load option: `true` for the defaults, or `{ events = 48, ttlDays = 7, store?,
 * key? }`, `store` an object with `get(key)`, `set(key, bytes)` and `delete(key)`.
 */
function readMidTerm(value) {
  if (value === undefined || value === false || value === null) return null;
  const m = value === true ? {} : readOptions(value, ["events", "ttlDays", "store", "key"], "load options.midTerm");
  for (const name of ["events", "ttlDays"]) checkOption(m[name], "number", `midTerm.${name}`);
  checkOption(m.key, "string", "midTerm.key");
  if (m.store !== undefined) {
    const fns = readOptions(m.store, ["get", "set", "delete"], "load options.midTerm.store");
    for (const name of ["get", "set", "delete"]) {
      if (typeof fns[name] !== "function") {
        throw homerankError("INVALID_OPTIONS", `invalid options: midTerm.store.${name}: expected a function`);
      }
    }
  }
  return { events: m.events ?? 48, ttlMs: (m.ttlDays ?? 7) * DAY_MS, store: m.store ?? null, key: m.key ?? DEFAULT_PROFILE_KEY };
}

/** Restores the stored profile into `inner`; a bad or unreadable one is deleted. What happened, for `stats()`. */
async function restoreProfile(inner, midTerm) {
  if (!midTerm.store) return "off: no store";
  let bytes;
  try {
    bytes = await midTerm.store.get(midTerm.key);
  } catch (e) {
    return `not restored: the store's get failed: ${messageOf(e)}`;
  }
  if (bytes === undefined || bytes === null) return "none stored";
  try {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    return `restored ${inner.importProfile(view, Date.now())} events`;
  } catch (e) {
    await Promise.resolve(midTerm.store.delete(midTerm.key)).catch(() => {});
    return `dropped the stored profile: ${messageOf(e)}`;
  }
}

/** Loads and instantiates the wasm module these options choose, once per flavour. */
export function initWasm(platform, options) {
  let flavour;
  try {
    flavour = flavourFor(readOptions(options, LOAD_OPTIONS));
  } catch (e) {
    return Promise.reject(e);
  }
  return loadFlavour(platform, flavour);
}

function loadFlavour(platform, flavour) {
  if (!wasmReady.has(flavour)) {
    const ready = (async () => {
      const { glue, exports } = await platform.instantiate(flavour);
      return { glue, flavour, memory: exports.memory };
    })().catch((e) => {
      wasmReady.delete(flavour);
      throw loadError(`homerank: could not load the ${flavour} wasm module: ${messageOf(e)}`, e);
    });
    wasmReady.set(flavour, ready);
  }
  return wasmReady.get(flavour);
}

/**
 * The listener simulator of the demo (a catalogue, a persona with drifting intent, its server
 * Home page and its reactions), from its own wasm module; `options` are checked as `load`'s
 * but do not choose a module.
 */
export async function createSimulatorWith(platform, catalogSeed = 7, personaSeed = 1, options = {}) {
  flavourFor(readOptions(options, LOAD_OPTIONS));
  const { glue } = await loadFlavour(platform, "sim");
  try {
    return new Simulator(new glue.WasmSimulator(catalogSeed, personaSeed));
  } catch (e) {
    throw asHomerankError(e);
  }
}

/**
 * The layout lab (src/sim/lab.rs): layouts `a` and `b` compared on a simulated `population`,
 * reranked by the default model (or `options.model`, a `Uint8Array` checked against
 * `options.sha256` when given); from the simulator's wasm module.
 */
export async function createLayoutLabWith(platform, a, b, population, options = {}) {
  const opts = readOptions(options, ["model", "sha256"]);
  const model = opts.model ?? platform.modelBytes(DEFAULT_MODEL.file, DEFAULT_MODEL.bytes);
  const [{ glue }, bytes] = await Promise.all([loadFlavour(platform, "sim"), model]);
  try {
    return new LayoutLab(new glue.WasmLayoutLab(a, b, population, bytes, opts.model ? opts.sha256 : DEFAULT_MODEL.sha256));
  } catch (e) {
    throw asHomerankError(e);
  }
}

/**
 * Calls into one wasm object: `FREED` after `free()`, which is idempotent and, made from inside
 * a call (a getter of an argument), waits for that call to return; an error without a code
 * (a trap) comes out as `INTERNAL`.
 */
class Guard {
  #inner;
  #what;
  #calls = 0;
  #freed = false;

  constructor(inner, what) {
    this.#inner = inner;
    this.#what = what;
  }

  run(fn) {
    if (this.#freed) throw homerankError("FREED", `homerank: this ${this.#what} was freed; load a new one`);
    this.#calls++;
    try {
      return fn(this.#inner);
    } catch (e) {
      throw asHomerankError(e);
    } finally {
      if (--this.#calls === 0 && this.#freed) this.#release();
    }
  }

  free() {
    if (this.#freed) return;
    this.#freed = true;
    if (this.#calls === 0) this.#release();
  }

  #release() {
    const inner = this.#inner;
    this.#inner = null;
    try {
      inner?.free();
    } catch {
      // Freed already: nothing is left to release.
    }
  }
}

const rejectCoded = (e) => Promise.reject(asHomerankError(e));

class Simulator {
  #guard;

  constructor(inner) {
    this.#guard = new Guard(inner, "simulator");
  }

  setPersona(personaSeed) {
    this.#guard.run((s) => s.setPersona(personaSeed));
  }

  homePage(nShelves, perShelf) {
    return this.#guard.run((s) => s.homePage(nShelves, perShelf));
  }

  choose(shownIds) {
    return this.#guard.run((s) => s.choose(shownIds));
  }

  listen(itemId) {
    return this.#guard.run((s) => s.listen(itemId));
  }

  itemInfo(itemId) {
    return this.#guard.run((s) => s.itemInfo(itemId));
  }

  free() {
    this.#guard.free();
  }
}

/**
 * The SHA-256 of `bytes` in hex by WebCrypto (native, where wasm would run the hash in its
 * unoptimized first tier during a cold start), or undefined where WebCrypto is missing (an
 * insecure browser context) or refuses the bytes (a SharedArrayBuffer view): then Rust hashes.
 */
async function sha256Hex(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  try {
    const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined;
  }
}

/** Runs `fn(inner)` inside a prepared page's guard, for a ranker of module `glue`. */
const USE = Symbol("homerank.usePrepared");
const IDS = Symbol("homerank.preparedIds");

/**
 * A `rerankPreparedPacked` answer as the result object `rerank` gives (the same, value for value):
 * its JSON head with each shelf's items made from the packed ranks and scores and the page's
 * `ids` (`[shelf][serverRank]`). Built from object literals and `Array.from`, which define their
 * properties (as `JSON.parse` does) and so never run a setter put on a prototype.
 */
function unpackResult(packed, ids) {
  try {
    const result = JSON.parse(packed.head);
    const [counts, ranks, scores] = [packed.counts, packed.ranks, packed.scores];
    // No counts: the head is the whole result (a score the packing could not carry exactly).
    if (counts.length === 0) return result;
    let at = 0;
    result.shelves.forEach((shelf, s) => {
      const [from, shelfIds] = [at, ids[shelf.serverRank]];
      shelf.items = Array.from({ length: counts[s] }, (_, j) => {
        const [serverRank, score] = [ranks[from + j], scores[from + j]];
        return { id: shelfIds[serverRank], score: Number.isNaN(score) ? null : score, serverRank, newRank: j };
      });
      at += counts[s];
    });
    return result;
  } finally {
    packed.free();
  }
}

/**
 * A page read into the wasm module once (`HomeRanker.prepare`), to rerank again and again
 * without the page crossing the JS boundary each time. A snapshot: later changes to the object
 * it was made from do not reach it. Free it with `free()` when the page leaves the screen (it is
 * also freed when collected).
 */
class PreparedPage {
  #guard;
  #glue;
  #ids;

  constructor(inner, glue) {
    this.#guard = new Guard(inner, "prepared page");
    this.#glue = glue;
  }

  /** Whether `value` is a PreparedPage: a brand check that runs no Proxy trap or getter. */
  static is(value) {
    return (typeof value === "object" || typeof value === "function") && value !== null && #guard in value;
  }

  [USE](glue, fn) {
    if (glue !== this.#glue) {
      throw homerankError(
        "INVALID_ARGUMENT",
        "invalid argument: this page was prepared by a ranker of another wasm module; prepare it with the ranker that reranks it",
      );
    }
    return this.#guard.run(fn);
  }

  /** The page's item ids, an array per shelf in page order: read from the snapshot once. */
  [IDS](inner) {
    this.#ids ??= inner.itemIds();
    return this.#ids;
  }

  /** The page's `pageId`. */
  get pageId() {
    return this.#guard.run((p) => p.pageId);
  }

  /** How many items the page holds, over all shelves. */
  get items() {
    return this.#guard.run((p) => p.items);
  }

  /** Frees the page's wasm memory. Idempotent; every later use throws `FREED`. */
  free() {
    this.#guard.free();
  }
}

export function makeHomeRanker(platform) {
  class HomeRanker {
    #guard;
    #glue;
    #flavour;
    #memory;
    #midTerm;
    #profile = "off";

    constructor(inner, glue, flavour, memory, midTerm = null, profile = "off") {
      this.#guard = new Guard(inner, "ranker");
      this.#glue = glue;
      this.#flavour = flavour;
      this.#memory = memory;
      this.#midTerm = midTerm;
      this.#profile = profile;
    }

    /**
     * Loads a model from its bytes; `options.sha256` (hex) is checked when given.
     * `options.backend`: "cpu" (the default), "gpu" or "auto" (WebGPU where the page has it and,
     * for "auto", where it measures faster; see `rerankAsync`).
     */
    static async load(modelBytesIn, options) {
      const opts = readOptions(options, LOAD_OPTIONS);
      const midTerm = readMidTerm(opts.midTerm);
      const bytes = modelBytes(modelBytesIn);
      const [{ glue, flavour, memory }, digest] = await Promise.all([
        initWasm(platform, opts),
        typeof opts.sha256 === "string" ? sha256Hex(bytes) : undefined,
      ]);
      // One parse of the bytes; the GPU, when asked for, is set up from it in Rust, which also
      // records why it is not used (no WebGPU, no adapter, a module without GPU support). Rust
      // type-checks sha256 and backend, and compares the digest with sha256.
      let inner;
      try {
        inner = await glue.WasmRanker.load(bytes, opts.sha256 ?? undefined, opts.backend ?? "cpu", digest);
      } catch (e) {
        throw asHomerankError(e);
      }
      let profile = "off";
      if (midTerm) {
        try {
          inner.setMidTerm(midTerm.events, midTerm.ttlMs);
        } catch (e) {
          inner.free();
          throw asHomerankError(e);
        }
        profile = await restoreProfile(inner, midTerm);
      }
      return new HomeRanker(inner, glue, flavour, memory, midTerm, profile);
    }

    /** Loads the model shipped in the package, checking its manifest checksum. */
    static async loadDefault(options) {
      const opts = readOptions(options, LOAD_OPTIONS);
      checkOption(opts.onProgress, "function", "onProgress");
      // The module compiles (streaming, in browsers) while the model downloads; `load` then
      // finds it ready. A module that fails to load is reported by `load`, with its reason.
      initWasm(platform, opts).catch(() => {});
      let bytes;
      try {
        bytes = await platform.modelBytes(DEFAULT_MODEL.file, DEFAULT_MODEL.bytes, opts.onProgress);
      } catch (e) {
        throw homerankError("LOAD", `homerank: could not read the default model: ${messageOf(e)}`, e);
      }
      return HomeRanker.load(bytes, { ...opts, sha256: DEFAULT_MODEL.sha256 });
    }

    /** Records one event or an array of events; returns how many were recorded. */
    observe(events) {
      return this.#guard.run((r) => r.observe(events));
    }

    /**
     * Reads a page into the wasm module once, for `rerank(prepared)` again and again (after each
     * event, say) without the page crossing the JS boundary each time. Throws as `rerank` does
     * for a page that cannot be read (`INVALID_JSON`); an invalid page is refused (or served in
     * the server's order) at `rerank`, as always.
     */
    prepare(page) {
      return this.#guard.run(() => new PreparedPage(new this.#glue.WasmPreparedPage(page), this.#glue));
    }

    /**
     * Reranks a page (or a `PreparedPage`); on any internal failure the server order comes back
     * with `fallback` set.
     */
    rerank(page, options) {
      if (PreparedPage.is(page)) {
        return page[USE](this.#glue, (p) => this.#guard.run((r) => unpackResult(r.rerankPreparedPacked(p, options), page[IDS](p))));
      }
      return this.#guard.run((r) => r.rerank(page, options));
    }

    /**
     * Reranks a page (or a `PreparedPage`) on the backend chosen at load, awaiting the GPU when
     * it is used; resolves like `rerank` (a GPU failure scores that call on the CPU, with
     * `backendFallback` set). The ranker stays usable meanwhile; a rerank made then is scored on
     * the CPU.
     */
    rerankAsync(page, options) {
      if (PreparedPage.is(page)) {
        return page[USE](this.#glue, (p) => {
          const ids = page[IDS](p);
          return this.#guard.run((r) => r.rerankPreparedAsync(p, options)).then((packed) => unpackResult(packed, ids));
        }).catch(rejectCoded);
      }
      return this.#guard.run((r) => r.rerankAsync(page, options)).catch(rejectCoded);
    }

    /** "auto", "cpu" or "gpu" from now on ("gpu" needs the GPU attached at load). */
    setBackend(backend) {
      this.#guard.run((r) => r.setBackend(backend));
    }

    /**
     * Runs an experiment on later reranks (`null` ends it): the unit's arm is fixed by a hash
     * of `salt|unitId`. A bad experiment throws `INVALID_EXPERIMENT` and leaves the one before.
     */
    setExperiment(experiment) {
      this.#guard.run((r) => r.setExperiment(experiment));
    }

    /** The unit's arm in the running experiment ({ id, arm, bucket, unitHash, killed? }), or null. */
    assignment() {
      return this.#guard.run((r) => r.assignment());
    }

    /**
     * The record to log when `result` was actually shown, at `timeMs` (default `Date.now()`):
     * { experiment, arm, unitHash, modelId, backend, pageId, timeMs }, or null when the result
     * ran under no experiment or a killed one. Nothing is sent anywhere.
     */
    exposure(result, timeMs = Date.now()) {
      return this.#guard.run((r) => r.exposure(result, timeMs));
    }

    /**
     * Ends the listening session (call it when the listener leaves Home for a while): with
     * `midTerm` on, its events become the mid-term context of the next sessions and, with a
     * store, are saved there; resolves when saved.
     */
    async endSession() {
      this.#guard.run((r) => r.endSession(Date.now()));
      const m = this.#midTerm;
      if (m?.store) await m.store.set(m.key, this.exportProfile());
    }

    /** The mid-term profile as bytes (the listener's own data: what the store holds). */
    exportProfile() {
      return this.#guard.run((r) => r.exportProfile(Date.now()));
    }

    /** Replaces the mid-term context with a profile's bytes; throws `INVALID_PROFILE` for a bad one. */
    importProfile(bytes) {
      return this.#guard.run((r) => r.importProfile(bytes, Date.now()));
    }

    /**
     * Wipes every event, the mid-term context and cached embeddings (their bytes are
     * overwritten) at once; resolves when the stored profile, if any, is deleted too.
     */
    forget() {
      this.#guard.run((r) => r.forget());
      const m = this.#midTerm;
      return m?.store ? Promise.resolve(m.store.delete(m.key)) : Promise.resolve();
    }

    stats() {
      const stats = this.#guard.run((r) => r.stats());
      return { ...stats, wasm: this.#flavour, linearMemoryBytes: this.#memory?.buffer.byteLength ?? 0, midTermProfile: this.#profile };
    }

    get modelId() {
      return this.#guard.run((r) => r.modelId);
    }

    get embeddingDim() {
      return this.#guard.run((r) => r.embeddingDim);
    }

    /**
     * Frees the wasm memory held by this ranker. Idempotent; every later call throws `FREED`.
     * Called while a call is running (from a getter of its argument), it frees once that call
     * has returned.
     */
    free() {
      this.#guard.free();
    }
  }
  return HomeRanker;
}

class LayoutLab {
  #guard;

  constructor(inner) {
    this.#guard = new Guard(inner, "layout lab");
  }

  run(listeners) {
    return this.#guard.run((l) => l.run(listeners));
  }

  get done() {
    return this.#guard.run((l) => l.done);
  }

  get total() {
    return this.#guard.run((l) => l.total);
  }

  report() {
    return this.#guard.run((l) => l.report());
  }

  csv() {
    return this.#guard.run((l) => l.csv());
  }

  free() {
    this.#guard.free();
  }
}
