// A Web Worker for Node (the tests): js/worker.js in a worker_thread, behind the browser's
// Worker interface (postMessage, terminate, message / error events). The bootstrap gives the
// thread `self` and a fetch for file: URLs, which js/index.js uses for the wasm and the model.
// Test hooks: `crash()` makes the thread throw an uncaught error; `mute()` drops its answers
// from then on (a worker that hangs mid-call).
import { Worker } from "node:worker_threads";

export class NodeWebWorker extends EventTarget {
  #thread;

  constructor() {
    super();
    this.#thread = new Worker(new URL("./node-worker-bootstrap.mjs", import.meta.url));
    this.#thread.on("message", (data) => this.dispatchEvent(Object.assign(new Event("message"), { data })));
    this.#thread.on("error", (error) => this.dispatchEvent(Object.assign(new Event("error"), { error, message: error.message })));
  }

  postMessage(data, transfer) {
    this.#thread.postMessage(data, transfer);
  }

  terminate() {
    this.#thread.terminate();
  }

  crash() {
    this.#thread.postMessage({ __test: "crash" });
  }

  mute() {
    this.#thread.postMessage({ __test: "mute" });
  }
}
