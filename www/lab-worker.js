// Runs a layout comparison off the page's thread: posts progress after each batch of listeners,
// then the report and its CSV. The page cancels by terminating the worker.
import { createLayoutLab } from "../js/index.js";

const BATCH = 20;

self.onmessage = async ({ data: { a, b, population } }) => {
  try {
    const lab = await createLayoutLab(a, b, population);
    const started = performance.now();
    const total = lab.total;
    while (lab.done < total) {
      const done = lab.run(BATCH);
      self.postMessage({ type: "progress", done, total });
    }
    const seconds = (performance.now() - started) / 1000;
    self.postMessage({ type: "done", report: lab.report(), csv: lab.csv(), seconds });
    lab.free();
  } catch (e) {
    self.postMessage({ type: "error", code: e.code ?? "", message: e.message });
  }
};
