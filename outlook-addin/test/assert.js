// Assertions for the checks that run both under `node --test` and in a browser page (where
// node:assert does not exist). Each failure says what was being checked.

export function assert(condition, what) {
  if (!condition) {
    throw new Error(`check failed: ${what}`);
  }
}

export function assertEqual(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

export function assertBytes(actual, expected, what) {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} bytes, expected ${expected.length}`);
  }
  const at = actual.findIndex((b, i) => b !== expected[i]);
  if (at !== -1) {
    throw new Error(`${what}: first difference at byte ${at} of ${actual.length}`);
  }
}

/** Awaits `promise` (or calls a function) and checks it fails with `code` and a message matching `pattern`. */
export async function assertFails(attempt, code, pattern, what) {
  let error;
  try {
    await (typeof attempt === "function" ? attempt() : attempt);
  } catch (e) {
    error = e;
  }
  if (!error) {
    throw new Error(`${what}: did not fail`);
  }
  if (error.code !== code || !pattern.test(error.message)) {
    throw new Error(`${what}: failed with ${error.code} "${error.message}", expected ${code} matching ${pattern}`);
  }
}
