// `homerank/worker`: the HomeRanker API off the main thread. Every method returns a promise, and
// every promise settles: with the answer, or with an Error whose `code` says why — the ranker's
// own codes, `FREED` after `free()`, `WORKER` when the worker fails or is terminated (then every
// pending call is rejected), `INVALID_JSON` for an argument the structured clone cannot copy.
import { describe, homerankError, messageOf, modelBytes, quote, readOptions } from "./boundary.js";

/** What an argument is called in errors (the same words as the main thread's). */
const ARG_NAMES = {
  observe: ["events"], rerank: ["page", "options"], load: ["bytes", "options"], setExperiment: ["experiment"],
  exposure: ["result", "timeMs"], prepare: ["page"], rerankPrepared: ["page", "options"],
};
const MAX_DEPTH = 64;

/** `path: message` as the Rust reader writes it (a very long path capped). */
function at(path, message) {
  if (path.length > 160) path = `${path.slice(0, 80)}…${path.slice(-60)}`;
  return path ? `${path}: ${message}` : message;
}

/**
 * A copy of `value` the structured clone can send: Proxies and getters read once (their
 * exceptions named by path), functions and Symbols refused, holes kept (the ranker refuses them
 * in the same way on both threads).
 */
function plainCopy(value, path, ancestors) {
  switch (typeof value) {
    case "function":
    case "symbol":
      throw at(path, `${describe(value)} cannot be sent to the worker`);
    case "object":
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (ancestors.length >= MAX_DEPTH) throw at(path, `nested more than ${MAX_DEPTH} levels deep`);
  if (ancestors.includes(value)) throw at(path, "a cycle (the value contains itself)");
  let isArray;
  try {
    isArray = Array.isArray(value);
    if (!isArray && (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date)) return value;
  } catch (e) {
    throw at(path, `reading it threw an exception: ${quote(messageOf(e))}`);
  }
  ancestors.push(value);
  const read = (key, p) => {
    try {
      return value[key];
    } catch (e) {
      throw at(p, `reading it threw an exception: ${quote(messageOf(e))}`);
    }
  };
  let out;
  if (isArray) {
    const length = read("length", path);
    out = new Array(length);
    for (let i = 0; i < length; i++) {
      const p = `${path}[${i}]`;
      let has;
      try {
        has = i in value;
      } catch (e) {
        throw at(p, `reading it threw an exception: ${quote(messageOf(e))}`);
      }
      if (has) out[i] = plainCopy(read(i, p), p, ancestors);
    }
  } else {
    let keys;
    try {
      keys = Object.keys(value);
    } catch (e) {
      throw at(path, `reading it threw an exception: ${quote(messageOf(e))}`);
    }
    out = {};
    for (const key of keys) {
      const p = path ? `${path}.${key}` : key;
      out[key] = plainCopy(read(key, p), p, ancestors);
    }
  }
  ancestors.pop();
  return out;
}

/**
 * A page prepared in the worker (`HomeRankerWorker.prepare`): reranking it sends only its id.
 * Free it with `free()` when the page leaves the screen (it is also freed when collected).
 */
class WorkerPreparedPage {
  #release;
  #client;
  #id;

  constructor(client, { id, pageId, items }, release) {
    this.#client = client;
    this.#id = id;
    this.#release = release;
    this.pageId = pageId;
    this.items = items;
  }

  /** Whether `value` is a WorkerPreparedPage: a brand check that runs no Proxy trap or getter. */
  static is(value) {
    return (typeof value === "object" || typeof value === "function") && value !== null && #id in value;
  }

  /** Its id in `client`'s worker; `FREED` once freed, `INVALID_ARGUMENT` for another client. */
  idFor(client) {
    if (client !== this.#client) {
      throw homerankError("INVALID_ARGUMENT", "invalid argument: this page was prepared by another worker ranker; prepare it with the one that reranks it");
    }
    if (this.#id === null) throw homerankError("FREED", "homerank: this prepared page was freed; prepare the page again");
    return this.#id;
  }

  /** Frees the page in the worker. Idempotent. */
  free() {
    if (this.#id === null) return;
    const id = this.#id;
    this.#id = null;
    this.#release(id, this);
  }
}

export class HomeRankerWorker {
  #worker;
  #terminate;
  #next = 1;
  #pending = new Map();
  /** Set once the worker cannot answer any more: the error every call then rejects with. */
  #dead = null;
  /** Frees the worker's copy of a prepared page that was collected without `free()`. */
  #collected = new FinalizationRegistry((id) => {
    if (!this.#dead) this.#call("freePrepared", [id]).catch(() => {});
  });

  constructor(worker) {
    this.#worker = worker;
    const on = (type, fn) => {
      if (typeof worker.addEventListener === "function") worker.addEventListener(type, fn);
      else worker[`on${type}`] = fn;
    };
    on("message", (event) => this.#answer(event.data));
    on("error", (event) => {
      event?.preventDefault?.();
      this.#die(homerankError("WORKER", `homerank worker: the worker failed: ${messageOf(event?.error ?? event)}`));
    });
    on("messageerror", () => {
      this.#die(homerankError("WORKER", "homerank worker: an answer of the worker could not be read"));
    });
    // Terminating the worker fires no event: the client notices through its own terminate().
    const terminate = worker.terminate.bind(worker);
    this.#terminate = terminate;
    worker.terminate = () => {
      terminate();
      this.#die(homerankError("WORKER", "homerank worker: the worker was terminated"));
    };
  }

  #answer(data) {
    const call = this.#pending.get(data?.id);
    if (!call) return;
    this.#pending.delete(data.id);
    const error = data.error;
    if (error) call.reject(homerankError(typeof error.code === "string" ? error.code : "WORKER", String(error.message)));
    else call.resolve(data.result);
  }

  /** From now on every call, pending or new, rejects with `error`. */
  #die(error) {
    this.#dead ??= error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(error);
  }

  #call(method, args, transfer = []) {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#post({ id, method, args }, transfer);
      } catch (e) {
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  /**
   * Posts a message; what the structured clone refuses (a Proxy, a getter that throws, a
   * function) is copied by `plainCopy` or refused with `INVALID_JSON` naming where.
   */
  #post(message, transfer) {
    try {
      this.#worker.postMessage(message, transfer);
      return;
    } catch (first) {
      if (message.method === "load") {
        throw homerankError("INVALID_OPTIONS", `invalid options: load options cannot be sent to the worker: ${messageOf(first)}`, first);
      }
      const names = ARG_NAMES[message.method] ?? [];
      const args = message.args.map((arg, i) => {
        let what = names[i] ?? `argument ${i}`;
        if (what === "events" && !Array.isArray(arg)) what = "event";
        try {
          return plainCopy(arg, "", []);
        } catch (e) {
          const reason = typeof e === "string" ? e : messageOf(e);
          throw homerankError("INVALID_JSON", `invalid ${what} JSON: ${reason}`, first);
        }
      });
      try {
        this.#worker.postMessage({ ...message, args }, transfer);
      } catch (e) {
        throw homerankError("INVALID_JSON", `homerank worker: the arguments cannot be sent to the worker: ${messageOf(e)}`, e);
      }
    }
  }

  static #spawn() {
    return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  }

  static async #start(worker, bytes, options) {
    const { sha256, backend, simd, relaxedSimd, midTerm } = readOptions(options, ["sha256", "backend", "simd", "relaxedSimd", "midTerm"]);
    if (midTerm !== undefined) {
      throw homerankError("INVALID_OPTIONS", "invalid options: midTerm is not available through the worker client; load a HomeRanker on the page");
    }
    const rest = { sha256, backend, simd, relaxedSimd };
    let w;
    try {
      w = new HomeRankerWorker(worker ?? HomeRankerWorker.#spawn());
    } catch (e) {
      throw homerankError("WORKER", `homerank worker: could not start the worker: ${messageOf(e)}`, e);
    }
    try {
      const transfer = bytes ? [bytes.buffer] : [];
      Object.assign(w, await w.#call("load", [bytes, rest], transfer));
    } catch (e) {
      w.#stop(e);
      throw e;
    }
    return w;
  }

  /**
   * Starts a worker with the given model bytes (a Uint8Array, ArrayBuffer, SharedArrayBuffer or
   * typed array, as on the main thread). An ArrayBuffer is transferred, not copied; shared bytes
   * are copied.
   */
  static async load(model, options) {
    let bytes = modelBytes(model);
    if (!(bytes.buffer instanceof ArrayBuffer)) bytes = bytes.slice();
    const { worker } = readOptions(options, ["worker"]);
    return HomeRankerWorker.#start(worker, bytes, options);
  }

  /** Starts a worker with the package's default model. */
  static async loadDefault(options) {
    const { worker } = readOptions(options, ["worker"]);
    return HomeRankerWorker.#start(worker, null, options);
  }

  observe(events) {
    return this.#call("observe", [events]);
  }

  /** Reads a page into the worker once; `rerank(prepared)` then sends only its id. */
  async prepare(page) {
    const answer = await this.#call("prepare", [page]);
    const prepared = new WorkerPreparedPage(this, answer, (id, handle) => {
      this.#collected.unregister(handle);
      this.#call("freePrepared", [id]).catch(() => {});
    });
    this.#collected.register(prepared, answer.id, prepared);
    return prepared;
  }

  /** Reranks a page, or a page prepared in this worker. */
  rerank(page, options) {
    if (WorkerPreparedPage.is(page)) {
      let id;
      try {
        id = page.idFor(this);
      } catch (e) {
        return Promise.reject(e);
      }
      return this.#call("rerankPrepared", [id, options]);
    }
    return this.#call("rerank", [page, options]);
  }

  /** The main thread's `setExperiment`, in the worker. */
  setExperiment(experiment) {
    return this.#call("setExperiment", [experiment ?? null]);
  }

  assignment() {
    return this.#call("assignment", []);
  }

  /** `timeMs` defaults to `Date.now()` on this thread, when the page was shown. */
  exposure(result, timeMs = Date.now()) {
    return this.#call("exposure", [result, timeMs]);
  }

  forget() {
    return this.#call("forget", []);
  }

  stats() {
    return this.#call("stats", []);
  }

  #stop(error) {
    this.#die(error);
    try {
      this.#terminate();
    } catch {
      // Already gone.
    }
  }

  /**
   * Stops the worker (which frees everything it held). Idempotent; pending calls and every later
   * call reject with `FREED`.
   */
  async free() {
    if (this.#dead?.code === "FREED") return;
    this.#dead = homerankError("FREED", "homerank: this ranker was freed; load a new one");
    this.#stop(this.#dead);
  }
}
