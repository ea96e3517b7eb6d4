/**
 * Seeds for tests that inject faults at random: the seed comes from
 * `TEST_SEED` (an integer; default: a random one) and is printed, so a failing
 * run can be repeated with `TEST_SEED=<n> npx vitest run <file>`.
 *
 * One seed per test file (vitest runs each file in its own module graph):
 * every random choice the file's tests and helpers make (the AGS stand-in's
 * faults, shuffled deliveries, which replica takes a call, retry jitter) is
 * drawn from a stream derived from it, so one `TEST_SEED` repeats them all.
 * The seed is printed when first drawn, and again under a test that fails
 * once a seed was drawn.
 */
import { relative } from 'node:path';
import { beforeEach, expect } from 'vitest';

/** A seeded source of numbers in [0, 1) (mulberry32: small, fast, well distributed). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The run's seed: `TEST_SEED` when set (it must be an integer), else a random one. */
export function runSeed(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const given = env.TEST_SEED;
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 31);
  const n = Number(given);
  if (!Number.isSafeInteger(n)) throw new Error(`TEST_SEED must be an integer, not ${JSON.stringify(given)}`);
  return n;
}

/** The seed of the stream named `label` under the file's seed (FNV-1a of the label, mixed in): streams do not repeat each other. */
export function streamSeed(seed: number, label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return (seed ^ h) >>> 0;
}

/** The seed of each test file run in this process (one entry unless vitest runs files without isolation), and its streams' labels. */
const files = new Map<string, { readonly seed: number; readonly labels: string[]; random?: () => number }>();

/** The test file being run, relative to the working directory (for the repeat command). */
function testFile(): string {
  try {
    const path = expect.getState().testPath;
    return path ? relative(process.cwd(), path) : '<file>';
  } catch {
    return '<file>';
  }
}

function fileState(): { readonly seed: number; readonly labels: string[]; random?: () => number } {
  const file = testFile();
  let state = files.get(file);
  if (!state) {
    state = { seed: runSeed(), labels: [] };
    files.set(file, state);
  }
  return state;
}

const repeatLine = (seed: number): string => `TEST_SEED=${seed} npx vitest run ${testFile()}`;

/**
 * The seeded randomness of one test or suite, named `label`: prints
 * `[seed] <label>: TEST_SEED=<n>` on stderr (shown with the test's output) and
 * returns the file's seed and the stream `label` draws from it.
 */
export function testSeed(label: string): { readonly seed: number; readonly random: () => number } {
  const { seed, labels } = fileState();
  if (!labels.includes(label)) {
    labels.push(label);
    process.stderr.write(`[seed] ${label}: TEST_SEED=${seed} (repeat: ${repeatLine(seed)})\n`);
  }
  return { seed, random: seededRandom(streamSeed(seed, label)) };
}

/**
 * A number in [0, 1) from the file's shared seeded stream: the default
 * randomness of the test helpers (the stand-in's `setFaultRate`, `shuffle`,
 * the sender's retry jitter). The seed is drawn and printed on first use.
 */
export function fileRandom(): number {
  const state = fileState();
  state.random ??= testSeed('random faults and orders of this file').random;
  return state.random();
}

// Under a failing test, print the file's seed again (if one was drawn): the line to repeat the run sits beside the failure.
try {
  beforeEach(({ onTestFailed }) => {
    onTestFailed(({ task }) => {
      const state = files.get(testFile());
      if (state === undefined || state.labels.length === 0) return;
      const line = `[seed] this test failed in a run with TEST_SEED=${state.seed} (${state.labels.join(', ')}); repeat: ${repeatLine(state.seed)}`;
      process.stderr.write(`${line}\n`);
      for (const error of task.result?.errors ?? []) error.message = `${error.message}\n${line}`; // shown with the failure too
    });
  });
} catch {
  // imported outside a vitest file's collection: nothing to hook
}
