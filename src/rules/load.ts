/** Loading the rules file from disk. */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { MAX_FILE_BYTES } from './source.js';
import { compileRulesText } from './validate.js';
import type { RulesCompileOptions, RulesLoadResult } from './validate.js';
import type { RuleProblem } from './types.js';

export type { RulesCompileOptions, RulesLoadResult } from './validate.js';

export interface LoadRulesOptions extends RulesCompileOptions {
  /** Path of the rules file (as shown in problems). Required. */
  readonly file: string;
}

function readProblem(file: string, message: string, fix?: string): RuleProblem {
  return { file, line: 1, column: 1, severity: 'error', code: 'read', message, ...(fix ? { fix } : {}) };
}

/** The bytes of the rules file, or the problem that kept them from being read. */
export type RulesFileRead = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly problem: RuleProblem };

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Reads the rules file safely: only a regular file (a FIFO, socket, device or
 * directory is refused without blocking: it is opened non-blocking and checked
 * with fstat before any read), and only up to {@link MAX_FILE_BYTES} (the size
 * is checked before reading, and again after). Symlinks are followed. Never
 * throws. Synchronous (a local file of at most 16 MiB), so a watcher can take
 * its baseline at once.
 */
export function readRulesFile(file: string): RulesFileRead {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `the rules file ${file} does not exist` : `cannot read ${file}: ${code ?? (err as Error).message}`;
    return { ok: false, problem: readProblem(file, message, 'set RULES_FILE or create the file (see rules.yaml in the project)') };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      return { ok: false, problem: readProblem(file, `${file} is ${kindOf(st)}: the rules file must be a regular file`, 'point RULES_FILE at a regular YAML file (a symlink to one is fine)') };
    }
    const tooBig = (bytes: number): RulesFileRead => ({
      ok: false,
      problem: { ...readProblem(file, `the file is ${bytes} bytes: the limit is ${MAX_FILE_BYTES} (16 MiB)`, 'split the rules or remove unused ones'), code: 'limits' },
    });
    if (st.size > MAX_FILE_BYTES) return tooBig(st.size);
    const bytes = readFileSync(fd);
    if (bytes.byteLength > MAX_FILE_BYTES) return tooBig(bytes.byteLength);
    return { ok: true, bytes };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, problem: readProblem(file, `cannot read ${file}: ${code ?? (err as Error).message}`) };
  } finally {
    closeSync(fd);
  }
}

/** Reads, validates and compiles the rules file. Never throws for a bad or missing file: problems are returned. */
export async function loadRules(options: LoadRulesOptions): Promise<RulesLoadResult> {
  await Promise.resolve();
  const read = readRulesFile(options.file);
  if (!read.ok) return { ok: false, problems: [read.problem], warnings: [] };
  return compileRulesText(read.bytes.toString('utf8'), options.file, options);
}
