import type { HomePage, SessionEvent, RerankOptions, RerankResult, RankerStats, LoadOptions } from "./index.js";

export interface WorkerLoadOptions extends LoadOptions {
  /** A worker running homerank/worker's script; by default one is started. */
  worker?: Worker;
  // `backend: "gpu" | "auto"` works here too: WebGPU is available in workers.
}

/** The HomeRanker API in a Web Worker: the UI thread never runs the model. */
export declare class HomeRankerWorker {
  private constructor();
  /** Transfers the model bytes to a new worker and loads them there. */
  static load(modelBytes: Uint8Array | ArrayBuffer, options?: WorkerLoadOptions): Promise<HomeRankerWorker>;
  static loadDefault(options?: WorkerLoadOptions): Promise<HomeRankerWorker>;
  readonly modelId: string;
  readonly embeddingDim: number;
  observe(events: SessionEvent | SessionEvent[]): Promise<number>;
  rerank(page: HomePage, options?: RerankOptions): Promise<RerankResult>;
  forget(): Promise<void>;
  stats(): Promise<RankerStats & { wasm: "simd" | "plain" | "webgpu"; linearMemoryBytes: number }>;
  /** Frees the ranker and terminates the worker. */
  free(): Promise<void>;
}
