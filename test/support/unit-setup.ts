/**
 * Set-up of the `unit` project (vitest.config.ts): a unit test starts no
 * process. Every way node:child_process starts one throws, naming the
 * project a test that needs a process belongs to.
 */
import type * as ChildProcess from 'node:child_process';
import { vi } from 'vitest';

async function refusing(importOriginal: () => Promise<typeof ChildProcess>): Promise<typeof ChildProcess> {
  const original = await importOriginal();
  const refuse = (name: string) => (): never => {
    throw new Error(`child_process.${name}: a unit test starts no process; list the file in INTEGRATION (vitest.config.ts)`);
  };
  const names = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;
  return { ...original, ...Object.fromEntries(names.map((n) => [n, refuse(n)])) };
}

vi.mock('node:child_process', refusing);
vi.mock('child_process', refusing);
