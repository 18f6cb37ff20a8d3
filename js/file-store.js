// A Node storage adapter for the mid-term profile: one file per key in `dir` (`<key>.hrmp`),
// written to a temporary file and renamed, so a crash never leaves half a profile.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const fileOf = (dir, key) => join(dir, `${encodeURIComponent(key)}.hrmp`);

/** Keeps profiles as files in `dir` (created when first written). */
export function fileStore(dir) {
  return {
    get: async (key) => {
      try {
        return new Uint8Array(await readFile(fileOf(dir, key)));
      } catch (e) {
        if (e.code === "ENOENT") return undefined;
        throw e;
      }
    },
    set: async (key, bytes) => {
      await mkdir(dir, { recursive: true });
      const tmp = `${fileOf(dir, key)}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, fileOf(dir, key));
    },
    delete: (key) => rm(fileOf(dir, key), { force: true }),
  };
}
