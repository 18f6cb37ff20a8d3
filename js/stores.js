// Storage adapters for the mid-term profile (`HomeRanker.load(bytes, { midTerm: { store } })`):
// objects with `get(key)` → bytes or undefined, `set(key, bytes)` and `delete(key)`, each of
// which may return a promise. The ranker stores only its own profile bytes (checksummed; see
// src/profile.rs) under one key; nothing is sent anywhere.

/** Keeps profiles in memory (tests, or a host with its own persistence around it). */
export function memoryStore() {
  const map = new Map();
  return {
    get: (key) => map.get(key)?.slice(),
    set: (key, bytes) => void map.set(key, new Uint8Array(bytes)),
    delete: (key) => void map.delete(key),
  };
}

/** Keeps profiles in the browser's IndexedDB (database `dbName`, one object store). */
export function indexedDbStore(dbName = "homerank") {
  const STORE = "profiles";
  let opened = null;
  const db = () => {
    opened ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(dbName, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  };
  const run = async (mode, fn) => {
    const tx = (await db()).transaction(STORE, mode);
    const request = fn(tx.objectStore(STORE));
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };
  return {
    get: async (key) => {
      const value = await run("readonly", (s) => s.get(key));
      return value === undefined ? undefined : new Uint8Array(value);
    },
    set: (key, bytes) => run("readwrite", (s) => s.put(new Uint8Array(bytes).buffer, key)).then(() => undefined),
    delete: (key) => run("readwrite", (s) => s.delete(key)).then(() => undefined),
  };
}
