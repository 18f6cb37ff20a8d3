// Types of the homerank package. The contract types are generated from the Rust side
// (src/wasm/contract.d.ts, a wasm-bindgen typescript_custom_section).
import type {
  Assignment, Backend, ErrorCode, Experiment, Exposure, HomePage, SessionEvent, RerankOptions, RerankResult, RankerStats,
} from "../pkg/simd/homerank.js";

export type {
  Action, Assignment, Backend, ErrorCode, Experiment, ExperimentArm, Exposure, HomePage, Item, ItemScore, ItemType,
  RankerStats, RemovedItem, RerankOptions, RerankResult, SessionEvent, Shelf, ShelfResult,
} from "../pkg/simd/homerank.js";

export interface LoadOptions {
  /** Expected hex SHA-256 of the model bytes; loading fails with code MODEL_CHECKSUM otherwise. */
  sha256?: string;
  /** Force the simd (true) or plain (false) wasm module; default: detect. */
  simd?: boolean;
  /**
   * false: never the relaxed-SIMD module (it is chosen where the engine validates relaxed SIMD;
   * its fused multiply-adds may change scores in the last bits against the simd module's).
   */
  relaxedSimd?: boolean;
  /**
   * "cpu" (default), "gpu" or "auto". Other than "cpu", where the page has WebGPU the package loads
   * its WebGPU build and puts the model on the adapter; "auto" then times both engines once per
   * page-size class and keeps the faster. Use `rerankAsync` to let the GPU score.
   */
  backend?: Backend;
  /** Download progress of the default model (browser). */
  onProgress?: (progress: { loaded: number; total: number }) => void;
  /**
   * The mid-term context, off by default: `true`, or the events of ended sessions to keep
   * (`events`, default 48), for how long (`ttlDays`, default 7), and a `store` to keep them
   * across page loads under `key` (default "homerank-profile"). A stored profile that is
   * corrupt, foreign or from another model width is deleted; `stats().midTermProfile` says so.
   * Not available through the worker client.
   */
  midTerm?: boolean | { events?: number; ttlDays?: number; store?: ProfileStore; key?: string };
}

/** Where the mid-term profile is kept: `indexedDbStore()`, `fileStore(dir)` (Node), `memoryStore()`, or the host's own. */
export interface ProfileStore {
  get(key: string): Uint8Array | ArrayBuffer | undefined | Promise<Uint8Array | ArrayBuffer | undefined>;
  set(key: string, bytes: Uint8Array): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}
/** Profiles in memory. */
export declare function memoryStore(): ProfileStore;
/** Profiles in the browser's IndexedDB (browser entry only). */
export declare function indexedDbStore(dbName?: string): ProfileStore;
/** Profiles as files in `dir` (Node entry only). */
export declare function fileStore(dir: string): ProfileStore;

/**
 * An error thrown by homerank: `code` is stable (one of `ErrorCode`, the Rust `Error::CODES`),
 * the message names what to fix and where (`shelves[2].items[7].serverScore: expected a number,
 * got the string "0.5"`). Every error the package throws or rejects with is one of these.
 */
export interface HomerankError extends Error {
  code: ErrorCode;
}

/** Model bytes: copied into the wasm module (a SharedArrayBuffer too; a detached one is INVALID_MODEL). */
export type ModelBytes = Uint8Array | ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

export declare class HomeRanker {
  private constructor();
  /** Loads a model from its bytes (a GGUF file written by `homerank train`). */
  static load(modelBytes: ModelBytes, options?: LoadOptions): Promise<HomeRanker>;
  /** Loads the model shipped in the package, verifying its checksum. */
  static loadDefault(options?: LoadOptions): Promise<HomeRanker>;
  /** Records one event or several; returns how many were recorded. Throws on a bad event. */
  observe(events: SessionEvent | SessionEvent[]): number;
  /**
   * Reads a page into the wasm module once, for `rerank(prepared)` again and again without the
   * page crossing the JS boundary each time (a snapshot of `page`). Throws `INVALID_JSON` for a
   * page that cannot be read; an invalid page is handled at `rerank`, as always.
   */
  prepare(page: HomePage): PreparedPage;
  /** Reranks a page. On any internal failure returns the server order with `fallback` set. */
  rerank(page: HomePage | PreparedPage, options?: RerankOptions): RerankResult;
  /** Reranks on the backend chosen at load (the GPU is awaited); fails open like `rerank`. */
  rerankAsync(page: HomePage | PreparedPage, options?: RerankOptions): Promise<RerankResult>;
  /** Changes the backend setting ("gpu" needs the GPU attached at load). */
  setBackend(backend: Backend): void;
  /**
   * Runs an experiment on later reranks (`null` ends it); every result then carries
   * `experiment: { id, arm, bucket, unitHash }`. Throws `INVALID_EXPERIMENT` for a bad one (the
   * one before stays). `forget()` keeps the experiment.
   */
  setExperiment(experiment: Experiment | null): void;
  /** The unit's arm in the running experiment, or null. */
  assignment(): Assignment | null;
  /**
   * The record to log when `result` was shown, at `timeMs` (default `Date.now()`); null without
   * an experiment or under a killed one. The library sends nothing.
   */
  exposure(result: RerankResult, timeMs?: number): Exposure | null;
  /** Wipes every event and cached embedding. */
  /**
   * Ends the listening session: with `midTerm` on, its events become the context of the next
   * sessions (and are saved to the store); resolves when saved.
   */
  endSession(): Promise<void>;
  /** The mid-term profile's bytes (versioned, checksummed; the listener's own data). */
  exportProfile(): Uint8Array;
  /** Replaces the mid-term context with a profile's bytes; how many events are kept. Throws `INVALID_PROFILE`. */
  importProfile(bytes: Uint8Array): number;
  /** Wipes the session, the mid-term context and cached embeddings; resolves when the stored profile is deleted too. */
  forget(): Promise<void>;
  stats(): RankerStats & { wasm: WasmModule; linearMemoryBytes: number; midTermProfile: string };
  readonly modelId: string;
  readonly embeddingDim: number;
  /**
   * Frees the wasm memory of this ranker. Idempotent; every later call throws `FREED`. Called
   * from inside a call (a getter of an argument), it frees once that call has returned.
   */
  free(): void;
}

/**
 * A page read into a ranker's wasm module once (`HomeRanker.prepare`). Free it when the page
 * leaves the screen (it is also freed when collected); a ranker of another wasm module refuses it
 * with `INVALID_ARGUMENT`.
 */
export declare class PreparedPage {
  private constructor();
  readonly pageId: string;
  /** Items over all shelves. */
  readonly items: number;
  /** Frees its wasm memory. Idempotent; a later `rerank` of it throws `FREED`. */
  free(): void;
}

/** The package's wasm modules a ranker can run on. */
export type WasmModule = "relaxed" | "simd" | "plain" | "webgpu";

/** Whether this engine supports WebAssembly SIMD. */
export declare function simdSupported(): boolean;
/** Whether this engine supports WebAssembly relaxed SIMD (then the `relaxed` module is used). */
export declare function relaxedSimdSupported(): boolean;
/** Loads the wasm module ahead of time; resolves to the flavour chosen. */
export declare function init(options?: LoadOptions): Promise<WasmModule>;
/** Whether this page has WebGPU (navigator.gpu). */
export declare function webGpuAvailable(): boolean;

/** The demo's listener simulator (see src/sim). */
export interface Simulator {
  setPersona(personaSeed: number): void;
  homePage(nShelves: number, perShelf: number): HomePage;
  choose(shownIds: string[]): number | undefined;
  listen(itemId: string): { action: "skip" | "complete"; msPlayed: number; reaction: "like" | "dislike" | null };
  itemInfo(itemId: string): { id: string; type: string; creator: string; durationMs: number; affinity: number };
  /** Idempotent; every later call throws `FREED`. */
  free(): void;
}
/** One arm of a layout comparison: the demo's layout object (other fields are ignored). */
export interface LabLayout {
  name?: string;
  shelves?: number;
  cards?: number;
  size?: "s" | "m" | "l";
  template?: "carousel" | "grid" | "hero";
  shelfOrder?: string[];
  pinned?: string[];
  options?: RerankOptions;
  /** On-device reranking (default true); false shows the server's page as laid out. */
  rerank?: boolean;
}
export type Persona = "music-first" | "podcast-commuter" | "audiobook-listener" | "playlist-hopper" | "explorer";
/** The simulated population and the browsing model's assumptions (src/sim/browse.rs); every field has a default. */
export interface LabPopulation {
  listeners?: number;
  personas?: { persona: Persona; weight: number }[];
  sessions?: number;
  playsPerSession?: number;
  seed?: number;
  catalogSeed?: number;
  viewport?: { width?: number; height?: number };
  browse?: Partial<Record<"scrollPatience" | "carouselSwipe" | "positionDecay" | "playAffinity" | "playPopularity" |
    "salience" | "playThreshold" | "secondsPerCard" | "secondsPerScreen" | "secondsPerSwipe", number>>;
  bootstrap?: number;
}
/** A metric under both arms and B − A with its paired bootstrap 95 % interval. */
export interface LabMetric { key: string; label: string; a: number; b: number; diff: number; lo: number; hi: number }
export interface LabReport {
  listeners: number;
  population: Required<LabPopulation>;
  modelId: string;
  arms: [LabArm, LabArm];
  metrics: LabMetric[];
  personas: { persona: Persona; listeners: number; metrics: LabMetric[] }[];
}
export interface LabArm {
  name: string;
  layout: Required<LabLayout>;
  sessions: number;
  plays: number;
  fallbacks: number;
  /** Plays by shelf (in the layout's order) and position 0 … 29. */
  heat: { shelf: string; title: string; plays: number[] }[];
}
/** A layout comparison in progress: `run(n)` simulates n more listeners (both arms) and returns how many are done. */
export interface LayoutLab {
  run(listeners: number): number;
  readonly done: number;
  readonly total: number;
  report(): LabReport;
  csv(): string;
  /** Idempotent; every later call throws `FREED`. */
  free(): void;
}
/** Layouts `a` and `b` on a simulated population, reranked by the default model (or `options.model`). */
export declare function createLayoutLab(a: LabLayout, b: LabLayout, population?: LabPopulation,
  options?: { model?: Uint8Array; sha256?: string }): Promise<LayoutLab>;
/** A simulated catalogue (`catalogSeed`) and listener persona (`personaSeed`). */
export declare function createSimulator(catalogSeed?: number, personaSeed?: number, options?: LoadOptions): Promise<Simulator>;
