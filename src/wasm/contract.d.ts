/** An item type; unknown strings are read as "other". */
export type ItemType = "track" | "episode" | "show" | "audiobook" | "playlist" | "album" | "artist" | "other";

/** A candidate on a shelf. */
export interface Item {
  id: string;
  type?: ItemType | string;
  /** The server's relevance score (finite); missing means 0. */
  serverScore?: number;
  /** `embeddingDim` finite numbers. */
  embedding: number[] | Float32Array;
  artistId?: string;
  durationMs?: number;
}

/** One row of Home. */
export interface Shelf {
  id: string;
  title?: string;
  /** A pinned shelf keeps its place. */
  pinned?: boolean;
  /** Dedup never takes the shelf below this many items. */
  minItems?: number;
  /** How many items the layout shows. */
  maxItems?: number;
  items: Item[];
}

/** The server's Home page. */
export interface HomePage {
  pageId?: string;
  embeddingDim: number;
  shelves: Shelf[];
}

export type Action = "impression" | "click" | "play" | "complete" | "skip" | "like" | "dislike" | "save" | "dwell";

/** Something the listener did; it stays on the device. */
export interface SessionEvent {
  itemId: string;
  action: Action;
  msPlayed?: number;
  timestampMs?: number;
  /** The item's embedding, when known (else taken from a page the ranker has seen). */
  embedding?: number[] | Float32Array;
  type?: ItemType | string;
}

export interface RerankOptions {
  /** Show an item on several shelves once, at its highest visible placement (default true). */
  dedup?: boolean;
  /** Order unpinned shelves by their items' scores (default true). */
  reorderShelves?: boolean;
  /** How many top scores make a shelf's aggregate (default 3). */
  shelfAggregateTopK?: number;
  /** At most this many items of one artist in a row (default null: off). */
  maxArtistRun?: number | null;
  /** Throw on an invalid page instead of returning the server order (default false). */
  strict?: boolean;
  /**
   * After a skip or dislike, move candidates close to that item down by up to this many standard
   * deviations of the page's scores (default 6; 0 turns the rule off).
   */
  negativeFeedback?: number;
}

export interface ItemScore {
  id: string;
  /** The model's score; null when no model ran. */
  score: number | null;
  serverRank: number;
  newRank: number;
}

export interface ShelfResult {
  id: string;
  serverRank: number;
  newRank: number;
  pinned: boolean;
  /** How many of `items` the layout shows. */
  visible: number;
  items: ItemScore[];
}

export interface RemovedItem {
  id: string;
  shelfId: string;
  serverRank: number;
  keptIn: string;
}

export interface RerankResult {
  pageId: string;
  shelves: ShelfResult[];
  removed: RemovedItem[];
  /** "cpu", "cpu-simd", "gpu" (WebGPU), or "none" when no model ran. */
  backend: string;
  /** Present when the backend is set to "gpu" but this call was scored on the CPU: why. */
  backendFallback?: string;
  modelId: string;
  eventsUsed: number;
  elapsedMs: number;
  /** Why the server order was kept, or null. */
  fallback: string | null;
  /** The experiment and arm the page was ranked under (`setExperiment`); absent without one. */
  experiment?: Assignment;
}

/**
 * An experiment (`setExperiment`). The unit's bucket is MurmurHash3_x86_32 (seed 0) of the UTF-8
 * of `salt + "|" + unitId`, modulo 10,000; arms take contiguous bucket ranges by weight.
 */
export interface Experiment {
  /** Non-empty, at most 512 bytes; echoed in results and exposures. */
  id: string;
  /** What the unit id is hashed with (default: `id`). */
  salt?: string;
  /** The unit (listener or device id): non-empty, at most 512 bytes; never in a result. */
  unitId: string;
  /** 1 to 100 arms, names unique. */
  arms: ExperimentArm[];
  /** The kill switch: every unit gets the server's order; `exposure()` returns null. */
  killed?: boolean;
}

export interface ExperimentArm {
  /** Non-empty, unique in the experiment. */
  name: string;
  /** Relative share of units: a finite number > 0. */
  weight: number;
  /** Override the call's options field by field (the arm wins); `strict` stays the caller's. */
  options?: Omit<RerankOptions, "strict">;
  /**
   * The model the arm expects: a `modelId` or the name before "@". Another loaded model serves
   * the server's order with `fallback` saying so.
   */
  model?: string;
  /** The page comes back exactly in the server's order. */
  holdback?: boolean;
}

/** The unit's arm, as results carry it (`result.experiment`) and `assignment()` returns it. */
export interface Assignment {
  /** The experiment's id. */
  id: string;
  arm: string;
  /** 0 … 9999. */
  bucket: number;
  /** First 16 bytes of SHA-256(salt + "|" + unitId), hex: pseudonymous, not anonymous. */
  unitHash: string;
  /** Present (true) when the kill switch was on: the page is the server's order. */
  killed?: boolean;
}

/** What to log when a page ranked under an experiment was actually shown (`exposure()`). */
export interface Exposure {
  experiment: string;
  arm: string;
  unitHash: string;
  modelId: string;
  /** What scored the page; "none" for the server's order (holdback). */
  backend: string;
  pageId: string;
  /** When it was shown (ms; `Date.now()` unless given). */
  timeMs: number;
}

export type Backend = "auto" | "cpu" | "gpu";

export interface RankerStats {
  modelId: string;
  backend: string;
  backendSetting: Backend;
  /** The WebGPU adapter in use, e.g. "swiftshader (webgpu, cpu)", or null. */
  gpuAdapter: string | null;
  /** Why the GPU could not be attached or last failed, or null. */
  gpuError: string | null;
  gpuCalls: number;
  gpuFallbacks: number;
  /** What "auto" measured: [page-size class, GPU faster] pairs. */
  autoChoices: [number, boolean][];
  precision: string;
  eventsHeld: number;
  eventsResolved: number;
  maxEvents: number;
  cachedItems: number;
  embeddingDim: number;
  /** Earlier sessions' events held for the mid-term context. */
  midTermEvents: number;
  /** Most earlier events held; 0: the mid-term context is off. */
  midTermCapacity: number;
}

/**
 * The `code` of every error homerank throws or rejects with (Rust `Error::code`, plus the
 * package's own: FREED, WORKER, NOT_LOADED, LOAD, INTERNAL). The same list as `Error::CODES`
 * in src/error.rs (tests/boundary.rs and js/tests/boundary.test.mjs check).
 */
export type ErrorCode =
  | "INVALID_JSON"
  | "INVALID_PAGE"
  | "INVALID_EVENT"
  | "INVALID_OPTIONS"
  | "INVALID_EXPERIMENT"
  | "INVALID_PROFILE"
  | "INVALID_MODEL"
  | "MODEL_CHECKSUM"
  | "MODEL_SCHEMA"
  | "EMBEDDING_DIM"
  | "FORWARD"
  | "NON_FINITE_SCORE"
  | "GPU"
  | "IO"
  | "NOT_ENABLED"
  | "INVALID_ARGUMENT"
  | "FREED"
  | "BUSY"
  | "WORKER"
  | "NOT_LOADED"
  | "LOAD"
  | "INTERNAL";
