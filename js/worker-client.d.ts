import type {
  Assignment, Experiment, Exposure, HomePage, SessionEvent, RerankOptions, RerankResult, RankerStats, LoadOptions, ModelBytes,
  WasmModule,
} from "./index.js";

export interface WorkerLoadOptions extends LoadOptions {
  /** A worker running homerank/worker's script; by default one is started. */
  worker?: Worker;
  // `backend: "gpu" | "auto"` works here too: WebGPU is available in workers.
}

/** A page prepared in a worker (`HomeRankerWorker.prepare`). */
export declare class WorkerPreparedPage {
  private constructor();
  readonly pageId: string;
  readonly items: number;
  /** Frees the worker's copy. Idempotent; a later `rerank` of it rejects with `FREED`. */
  free(): void;
}

/**
 * The HomeRanker API in a Web Worker: the UI thread never runs the model. Every promise settles:
 * a rejection is a `HomerankError` — the ranker's codes, `FREED` after `free()`, `WORKER` when the
 * worker fails or is terminated (pending calls included), `INVALID_JSON` for an argument the
 * structured clone cannot send (Proxies and getters are read on this thread first).
 */
export declare class HomeRankerWorker {
  private constructor();
  /** Transfers the model bytes to a new worker (shared bytes are copied) and loads them there. */
  static load(modelBytes: ModelBytes, options?: WorkerLoadOptions): Promise<HomeRankerWorker>;
  static loadDefault(options?: WorkerLoadOptions): Promise<HomeRankerWorker>;
  readonly modelId: string;
  readonly embeddingDim: number;
  observe(events: SessionEvent | SessionEvent[]): Promise<number>;
  /** Reads a page into the worker once; reranking the result sends only its id. */
  prepare(page: HomePage): Promise<WorkerPreparedPage>;
  rerank(page: HomePage | WorkerPreparedPage, options?: RerankOptions): Promise<RerankResult>;
  /** As `HomeRanker.setExperiment`; rejects with `INVALID_EXPERIMENT` for a bad one. */
  setExperiment(experiment: Experiment | null): Promise<void>;
  assignment(): Promise<Assignment | null>;
  /** As `HomeRanker.exposure`; `timeMs` defaults to `Date.now()` on the calling thread. */
  exposure(result: RerankResult, timeMs?: number): Promise<Exposure | null>;
  forget(): Promise<void>;
  stats(): Promise<RankerStats & { wasm: WasmModule; linearMemoryBytes: number }>;
  /** Terminates the worker (freeing all it held). Idempotent; pending and later calls reject with `FREED`. */
  free(): Promise<void>;
}
