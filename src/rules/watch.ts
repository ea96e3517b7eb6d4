/**
 * Hot reload: watches the rules file's directory (editors replace files by
 * rename, which a watch on the file itself misses), debounces bursts, skips
 * saves that do not change the content (SHA-256), and reports each new load
 * result. Valid: the caller swaps in the new RuleSet. Invalid: the caller keeps
 * the old one and shows the problems.
 */
import { createHash } from 'node:crypto';
import { watch, readFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { loadRules } from './load.js';
import type { LoadRulesOptions, RulesLoadResult } from './load.js';

export interface WatchRulesOptions extends LoadRulesOptions {
  /** Called with each reload's result (never for a save that leaves the content unchanged). */
  onReload(result: RulesLoadResult): void;
  /** Quiet time after the last change before reloading, ms. Default 150. */
  readonly debounceMs?: number;
}

export interface RulesWatcher {
  close(): void;
}

function sha256(buf: Buffer | string): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Starts watching. The content present at the call is the baseline (the caller has loaded it already). */
export function watchRules(options: WatchRulesOptions): RulesWatcher {
  const file = resolve(options.file);
  const name = basename(file);
  const debounceMs = options.debounceMs ?? 150;
  let lastHash: string | undefined;
  try {
    lastHash = sha256(readFileSync(file));
  } catch {
    lastHash = undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running = false;
  let again = false;

  const reload = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      let content: Buffer | undefined;
      try {
        content = await readFile(file);
      } catch {
        content = undefined;
      }
      const hash = content ? sha256(content) : undefined;
      if (closed || hash === lastHash) return;
      lastHash = hash;
      const result = await loadRules(options);
      if (!closed) options.onReload(result);
    } finally {
      running = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  };

  function schedule(): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reload();
    }, debounceMs);
    timer.unref?.();
  }

  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed === null || changed === name) schedule();
  });
  watcher.on('error', () => schedule());

  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
