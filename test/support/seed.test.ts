/**
 * Deterministic tests (issue 22.9): the seeded randomness of seed.ts, and the
 * rules that keep the suite repeatable, checked over every file under test/:
 * random choices come from the file's seed (never `Math.random`), and a test
 * file never sleeps (it waits for a condition: wait.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './prereq.js';
import { runSeed, seededRandom, streamSeed, testSeed } from './seed.js';

const TEST_DIR = join(REPO_ROOT, 'test');

/** The TypeScript files under test/ (fixtures excluded: they are the shipped project, not tests), relative to the repo. */
function testSources(dir = TEST_DIR): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(TEST_DIR, 'fixtures')) found.push(...testSources(path));
    } else if (entry.name.endsWith('.ts')) found.push(relative(REPO_ROOT, path));
  }
  return found;
}

/** `file:line: text` of each line of the files that matches `pattern` (comments included: a rule's reason may name it). */
function linesMatching(files: readonly string[], pattern: RegExp): string[] {
  return files.flatMap((f) =>
    readFileSync(join(REPO_ROOT, f), 'utf8')
      .split('\n')
      .flatMap((text, i) => (pattern.test(text) ? [`${f}:${i + 1}: ${text.trim()}`] : [])),
  );
}

describe('seeded randomness', () => {
  it('the same seed gives the same numbers, in [0, 1); another seed others', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    expect(seededRandom(43)()).not.toBe(xs[0]);
  });

  it('TEST_SEED: an integer is taken as is, anything else refused; unset draws one', () => {
    expect(runSeed({ TEST_SEED: '123' })).toBe(123);
    expect(runSeed({ TEST_SEED: '-5' })).toBe(-5);
    expect(() => runSeed({ TEST_SEED: 'abc' })).toThrow(/TEST_SEED must be an integer, not "abc"/);
    expect(() => runSeed({ TEST_SEED: '1.5' })).toThrow(/TEST_SEED must be an integer/);
    expect(Number.isSafeInteger(runSeed({}))).toBe(true);
    expect(Number.isSafeInteger(runSeed({ TEST_SEED: '' }))).toBe(true);
  });

  it('one seed per file, one stream per label: the same label repeats its numbers, labels differ', () => {
    const x = testSeed('seed.test: x');
    const y = testSeed('seed.test: y');
    expect(y.seed).toBe(x.seed);
    expect(testSeed('seed.test: x').random()).toBe(x.random());
    expect(streamSeed(x.seed, 'a')).not.toBe(streamSeed(x.seed, 'b'));
    expect(seededRandom(streamSeed(x.seed, 'seed.test: y'))()).toBe(y.random());
  });
});

describe('the suite stays repeatable', () => {
  const files = testSources();

  it('finds the test sources', () => {
    expect(files).toContain('test/support/seed.ts');
    expect(files.length).toBeGreaterThan(50);
  });

  it('no Math.random under test/ but seed.ts: random faults, orders and choices come from the printed seed (fileRandom, testSeed)', () => {
    expect(linesMatching(files, /Math\.random\(/).filter((l) => !l.startsWith('test/support/seed.ts:'))).toEqual([]);
  });

  it("a child's output is read once it is closed ('close'), never at 'exit' (Node: the stdio streams may still be open then)", () => {
    // redis-server runs with stdio ignored; the Docker packaging test and test/cli/support.ts (startServer) are left as they are
    const allowed = ['test/support/redis.ts', 'test/packaging/image-content.test.ts', 'test/cli/support.ts'];
    expect(linesMatching(files.filter((f) => !allowed.includes(f)), /\.once\('exit'|\.on\('exit'/)).toEqual([]);
  });

  it('no test file sleeps: a setTimeout in a *.test.ts is a race against a loaded machine (wait for a condition: wait.ts)', () => {
    expect(linesMatching(files.filter((f) => f.endsWith('.test.ts') && f !== 'test/support/seed.test.ts'), /setTimeout\(|\bsleep\(/)).toEqual([]);
  });
});
