// What the main-thread and worker APIs share at their edge: errors with a `code` (one of the
// `ErrorCode` union, the Rust `Error::CODES`), model bytes checked the same way on both threads,
// and short descriptions of bad values. Nothing here lets a caller's exception escape uncoded.

/** Longest echo of a bad value in a message (the Rust side's `ECHO_CHARS`). */
const ECHO_CHARS = 96;

/** An `Error` with a homerank `code`. */
export function homerankError(code, message, cause) {
  const err = new Error(message, cause === undefined ? undefined : { cause });
  err.code = code;
  return err;
}

/** A string for a message: quoted, capped to a prefix and its length. */
export function quote(s) {
  return s.length > ECHO_CHARS ? `${JSON.stringify(s.slice(0, ECHO_CHARS / 2))}… (${s.length} characters)` : JSON.stringify(s);
}

/** What a value is, for "expected …, got …" (never runs the value's own code). */
export function describe(v) {
  switch (typeof v) {
    case "undefined":
      return "undefined";
    case "boolean":
      return String(v);
    case "number":
      return `the number ${v}`;
    case "string":
      return `the string ${quote(v)}`;
    case "bigint":
      return "a BigInt";
    case "symbol":
      return "a Symbol";
    case "function":
      return "a function";
  }
  if (v === null) return "null";
  try {
    if (Array.isArray(v)) return "an array";
    if (v instanceof Date) return "a Date";
    if (ArrayBuffer.isView(v)) return "a typed array";
  } catch {
    // A revoked Proxy, or a trap that throws.
  }
  return "an object";
}

/** The message of a thrown value, read without letting a getter of its throw. */
export function messageOf(e) {
  try {
    const m = e?.message;
    if (typeof m === "string") return m;
  } catch {
    // fall through
  }
  return describe(e);
}

/** Whether a thrown value is a homerank error (has a string `code`). */
function codeOf(e) {
  try {
    return typeof e?.code === "string" ? e.code : undefined;
  } catch {
    return undefined;
  }
}

/** A thrown value as a homerank error: itself when it has a code, else `INTERNAL`. */
export function asHomerankError(e) {
  return codeOf(e) ? e : homerankError("INTERNAL", `homerank: internal error: ${messageOf(e)}`, e);
}

function isDetached(buffer) {
  if (typeof buffer.detached === "boolean") return buffer.detached;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

const isShared = (b) => typeof SharedArrayBuffer !== "undefined" && b instanceof SharedArrayBuffer;

/**
 * Model bytes as a Uint8Array: a Uint8Array, an ArrayBuffer, a SharedArrayBuffer or any
 * ArrayBufferView (the same on both threads). A detached buffer or another value is an
 * `INVALID_MODEL` error.
 */
export function modelBytes(model) {
  let bytes;
  try {
    if (model instanceof ArrayBuffer || isShared(model)) {
      if (isDetached(model)) throw homerankError("INVALID_MODEL", "homerank: the model's ArrayBuffer is detached (transferred or freed)");
      bytes = new Uint8Array(model);
    } else if (ArrayBuffer.isView(model)) {
      if (!isShared(model.buffer) && isDetached(model.buffer)) {
        throw homerankError("INVALID_MODEL", "homerank: the model bytes' ArrayBuffer is detached (transferred or freed)");
      }
      bytes = model instanceof Uint8Array ? model : new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
    }
  } catch (e) {
    if (codeOf(e)) throw e;
    throw homerankError("INVALID_MODEL", `homerank: reading the model bytes threw an exception: ${messageOf(e)}`, e);
  }
  if (!bytes) {
    throw homerankError(
      "INVALID_MODEL",
      `homerank: model bytes must be a Uint8Array, ArrayBuffer, SharedArrayBuffer or typed array, got ${describe(model)}`,
    );
  }
  return bytes;
}

/** Reads the named fields of an options object once (a throwing getter is `INVALID_OPTIONS`). */
export function readOptions(options, names, what = "load options") {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object") throw homerankError("INVALID_OPTIONS", `invalid options: ${what}: expected an object, got ${describe(options)}`);
  const out = {};
  for (const name of names) {
    try {
      out[name] = options[name];
    } catch (e) {
      throw homerankError("INVALID_OPTIONS", `invalid options: ${what}.${name}: reading it threw an exception: ${quote(messageOf(e))}`, e);
    }
  }
  return out;
}

/** `value` must be of `type` (a `typeof` name) or undefined; else `INVALID_OPTIONS`. */
export function checkOption(value, type, name) {
  if (value !== undefined && typeof value !== type) {
    const a = type === "boolean" ? "true or false" : `a ${type}`;
    throw homerankError("INVALID_OPTIONS", `invalid options: ${name}: expected ${a}, got ${describe(value)}`);
  }
}
