/** Loading the rules file from disk. */
import { readFile } from 'node:fs/promises';
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

/** Reads, validates and compiles the rules file. Never throws for a bad or missing file: problems are returned. */
export async function loadRules(options: LoadRulesOptions): Promise<RulesLoadResult> {
  let buf: Buffer;
  try {
    buf = await readFile(options.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `the rules file ${options.file} does not exist` : `cannot read ${options.file}: ${code ?? (err as Error).message}`;
    return { ok: false, problems: [readProblem(options.file, message, 'set RULES_FILE or create the file (see rules.yaml in the project)')], warnings: [] };
  }
  if (buf.byteLength > MAX_FILE_BYTES) {
    return { ok: false, problems: [{ ...readProblem(options.file, `the file is ${buf.byteLength} bytes: the limit is ${MAX_FILE_BYTES} (16 MiB)`), code: 'limits' }], warnings: [] };
  }
  return compileRulesText(buf.toString('utf8'), options.file, options);
}
