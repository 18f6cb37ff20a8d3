// `homerank/worker`: the HomeRanker API off the main thread. Every method returns a promise.
export class HomeRankerWorker {
  #worker;
  #next = 1;
  #pending = new Map();

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data: { id, result, error } }) => {
      const call = this.#pending.get(id);
      if (!call) return;
      this.#pending.delete(id);
      if (error) call.reject(Object.assign(new Error(error.message), { code: error.code }));
      else call.resolve(result);
    };
  }

  #call(method, args, transfer = []) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args }, transfer);
    });
  }

  static #spawn() {
    return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  }

  /** Starts a worker with the given model bytes; the buffer is transferred, not copied. */
  static async load(modelBytes, options = {}) {
    const w = new HomeRankerWorker(options.worker ?? HomeRankerWorker.#spawn());
    const bytes = modelBytes instanceof Uint8Array ? modelBytes : new Uint8Array(modelBytes);
    const { onProgress, worker, ...rest } = options;
    Object.assign(w, await w.#call("load", [bytes, rest], [bytes.buffer]));
    return w;
  }

  /** Starts a worker with the package's default model. */
  static async loadDefault(options = {}) {
    const w = new HomeRankerWorker(options.worker ?? HomeRankerWorker.#spawn());
    const { onProgress, worker, ...rest } = options;
    Object.assign(w, await w.#call("load", [null, rest]));
    return w;
  }

  observe(events) {
    return this.#call("observe", [events]);
  }

  rerank(page, options) {
    return this.#call("rerank", [page, options]);
  }

  forget() {
    return this.#call("forget", []);
  }

  stats() {
    return this.#call("stats", []);
  }

  /** Frees the ranker and stops the worker. */
  async free() {
    await this.#call("free", []);
    this.#worker.terminate();
  }
}
