/**
 * Seeds for tests that inject faults at random: the seed comes from
 * `TEST_SEED` (an integer; default: a random one) and is printed, so a failing
 * run can be repeated with `TEST_SEED=<n> npx vitest run <file>`.
 */

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

/**
 * The seeded randomness of one test or suite, named `label`: prints
 * `[seed] <label>: TEST_SEED=<n>` on stderr (shown with the test's output) and
 * returns the seed and its source of numbers.
 */
export function testSeed(label: string): { readonly seed: number; readonly random: () => number } {
  const seed = runSeed();
  process.stderr.write(`[seed] ${label}: TEST_SEED=${seed}\n`);
  return { seed, random: seededRandom(seed) };
}
