// Inside the worker_thread of node-worker.mjs: `self`, fetch for file: URLs, then js/worker.js.
import { parentPort } from "node:worker_threads";
import { readFile } from "node:fs/promises";

const webFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const u = new URL(url);
  if (u.protocol !== "file:") return webFetch(url, init);
  const body = await readFile(u);
  return new Response(body, { headers: { "content-type": u.pathname.endsWith(".wasm") ? "application/wasm" : "application/octet-stream" } });
};

let muted = false;
const queue = [];
globalThis.self = globalThis;
self.postMessage = (data, transfer) => {
  if (!muted) parentPort.postMessage(data, transfer);
};
parentPort.on("message", (data) => {
  if (data?.__test === "crash") {
    setTimeout(() => {
      throw new Error("the worker crashed (test)");
    });
  } else if (data?.__test === "mute") {
    muted = true;
  } else if (self.onmessage) {
    self.onmessage({ data });
  } else {
    queue.push(data);
  }
});
await import("../worker.js");
for (const data of queue.splice(0)) self.onmessage({ data });
