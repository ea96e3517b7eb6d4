/**
 * Hot reload: watches the rules file and reports each new load result. Valid:
 * the caller swaps in the new RuleSet. Invalid: the caller keeps the old one
 * and shows the problems.
 *
 * What it watches: every directory involved in reaching the file, each for the
 * names that matter there: the file's own name, every symlink on the way
 * (`RULES_FILE` itself, a Kubernetes ConfigMap's `..data` directory link) and
 * the final target in its own directory. So in-place writes, write-then-rename
 * (editors, `kubectl cp`), a symlinked file edited where it lives, and a
 * swapped symlinked directory (ConfigMap/Secret volume updates) all reload.
 * The set is recomputed after every change (a swap moves the target).
 *
 * What it loads: only a complete file. After a change settles (`debounceMs`
 * without events), the file is read, read again `settleMs` later, and only
 * the same bytes twice are compiled: a file being written in chunks is never
 * loaded half-written. Only a regular file is read, after a size check (see
 * {@link readRulesFile}); a FIFO put at the path never blocks. Compiling runs
 * in slices that yield to the event loop ({@link compileRulesTextSliced}), so
 * events keep flowing while a large file is compiled. Saves that do not change
 * the bytes are ignored.
 *
 * The topic schemas beside the file (`topics/NAME.schema.json`, typed topics:
 * src/custom-events/typed-topics.ts) are part of what compiles: a schema
 * added, changed or removed (or the `topics` folder created or removed)
 * reloads the rules as a change of the file does, with the same two reads
 * and the same result (a schema that cannot type its topic is a problem: the
 * running rules stay).
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { TOPICS_FOLDER } from '../custom-events/index.js';
import { readRulesFile } from './load.js';
import type { LoadRulesOptions, RulesFileRead, RulesLoadResult } from './load.js';
import { compileRulesTextSliced } from './validate.js';

export interface WatchRulesOptions extends LoadRulesOptions {
  /** Called with each reload's result (never for a save that leaves the content unchanged). */
  onReload(result: RulesLoadResult): void;
  /** Called when a changed, stable file starts compiling (its result follows in `onReload`). Default: nothing. */
  onCompiling?(): void;
  /** Quiet time after the last change before reading, ms. Default 150. */
  readonly debounceMs?: number;
  /** Time between the two reads that must give the same bytes, ms. Default 200. */
  readonly settleMs?: number;
  /** The wait between the two reads. Default: a `settleMs` timer. (Tests use it to act between the reads.) */
  readonly settle?: () => Promise<void>;
}

/** A watched directory's name set that matches every entry (the topics folder). */
const ANY_NAME = '*';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface RulesWatcher {
  /** Directories watched now (absolute, symlink-free). */
  readonly directories: () => readonly string[];
  close(): void;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** A read's identity: the bytes' hash, or the problem's message. */
function stateOf(read: RulesFileRead): string {
  return read.ok ? `sha256:${sha256(read.bytes)}` : `problem:${read.problem.message}`;
}

/** The folder of topic schemas of a rules file (as validate reads it: beside the file as named). */
export function topicsFolderOf(file: string): string {
  return join(dirname(resolve(file)), TOPICS_FOLDER);
}

/** The identity of the topic schemas: each `*.schema.json` of the folder with its bytes' hash (or why it cannot be read); '' without the folder. */
function topicsStateOf(folder: string): string {
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => n.endsWith('.schema.json')).sort();
  } catch {
    return '';
  }
  return names
    .map((n) => {
      const path = join(folder, n);
      try {
        // a FIFO or a directory named *.schema.json is not read (validate reports what it cannot read)
        return statSync(path).isFile() ? `${n}:${sha256(readFileSync(path))}` : `${n}:not-a-file`;
      } catch (error) {
        return `${n}:unreadable:${error instanceof Error ? error.message : String(error)}`;
      }
    })
    .join('\n');
}

/**
 * The (directory, names) pairs whose changes can change what `file` reads:
 * walks the path from the root, following each symlink met (at most 40), and
 * records the symlink-free directory holding each link and the final entry.
 */
export function watchedEntries(file: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (dir: string, name: string): void => {
    let names = out.get(dir);
    if (!names) out.set(dir, (names = new Set()));
    names.add(name);
  };
  let pending = resolve(file);
  for (let hops = 0; hops <= 40; hops++) {
    const { root } = parse(pending);
    const parts = pending.slice(root.length).split(/[\\/]+/).filter(Boolean);
    let dir = root;
    let followed = false;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      const next = join(dir, name);
      let isLink: boolean;
      try {
        isLink = lstatSync(next).isSymbolicLink();
      } catch {
        add(dir, name); // missing: watch for it to appear
        return out;
      }
      if (isLink) {
        add(dir, name);
        let target: string;
        try {
          target = readlinkSync(next);
        } catch {
          return out;
        }
        pending = join(resolve(dir, target), ...parts.slice(i + 1));
        followed = true;
        break;
      }
      if (i === parts.length - 1) add(dir, name);
      dir = next;
    }
    if (!followed) return out;
  }
  return out;
}

/** Starts watching. The content present at the call is the baseline (the caller has loaded it already). */
export function watchRules(options: WatchRulesOptions): RulesWatcher {
  const file = resolve(options.file);
  const topics = topicsFolderOf(options.file);
  const debounceMs = options.debounceMs ?? 150;
  const settleMs = options.settleMs ?? 200;
  const settle =
    options.settle ??
    (() =>
      new Promise<void>((r) => {
        const t = setTimeout(r, settleMs);
        t.unref?.();
      }));
  let lastState: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running = false;
  let again = false;
  const watchers = new Map<string, { watcher: FSWatcher; names: Set<string> }>();

  function schedule(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reload();
    }, debounceMs);
    timer.unref?.();
  }

  /** Watches exactly the directories the path involves now. */
  function sync(): void {
    if (closed) return;
    const wanted = watchedEntries(file);
    // the topics folder appearing or going, and any change in it
    const addName = (dir: string, name: string): void => {
      const names = wanted.get(dir) ?? new Set<string>();
      names.add(name);
      wanted.set(dir, names);
    };
    addName(dirname(topics), basename(topics));
    if (isDirectory(topics)) addName(topics, ANY_NAME);
    for (const [dir, entry] of watchers) {
      if (!wanted.has(dir)) {
        entry.watcher.close();
        watchers.delete(dir);
      }
    }
    for (const [dir, names] of wanted) {
      const existing = watchers.get(dir);
      if (existing) {
        existing.names = names;
        continue;
      }
      try {
        const entry = { watcher: undefined as unknown as FSWatcher, names };
        entry.watcher = watch(dir, { persistent: false }, (_event, changed) => {
          if (changed === null || entry.names.has(ANY_NAME) || entry.names.has(basename(String(changed)))) schedule();
        });
        entry.watcher.on('error', () => {
          entry.watcher.close();
          if (watchers.get(dir) === entry) watchers.delete(dir);
          schedule();
        });
        watchers.set(dir, entry);
      } catch {
        // the directory is gone or unreadable: the next change elsewhere resyncs
      }
    }
  }

  const reload = async (): Promise<void> => {
    running = true;
    try {
      sync();
      const first = readRulesFile(file);
      if (closed) return;
      const state = `${stateOf(first)}\n${topicsStateOf(topics)}`;
      if (state === lastState) return;
      await settle();
      if (closed) return;
      const second = readRulesFile(file);
      if (closed) return;
      sync();
      if (`${stateOf(second)}\n${topicsStateOf(topics)}` !== state) {
        again = true; // still being written: look again after the next quiet period
        return;
      }
      lastState = state;
      if (!second.ok) {
        options.onReload({ ok: false, problems: [second.problem], warnings: [] });
        return;
      }
      options.onCompiling?.();
      const result = await compileRulesTextSliced(second.bytes.toString('utf8'), options.file, options);
      if (!closed) options.onReload(result);
    } finally {
      running = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  };

  lastState = `${stateOf(readRulesFile(file))}\n${topicsStateOf(topics)}`; // the baseline: what the caller loaded at start
  sync();

  return {
    directories: () => [...watchers.keys()],
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const { watcher } of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

