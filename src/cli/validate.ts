/**
 * `extend-event-rules validate [files...] [--proto dirs] [--env-file f] [--format text|json|github]`:
 * checks rules files against the loaded events and the registered actions, each file on its own
 * (the event catalog is read once for all of them). Exit 0 all valid, 1 one invalid, 2 usage error.
 */
import { FACT_OPERATIONS } from '../ags/index.js';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createDefaultRegistry } from '../actions/index.js';
import type { ActionRegistry } from '../actions/index.js';
import { parseEnvFile } from '../config.js';
import { loadCatalog } from '../events/index.js';
import { CatalogLoadError } from '../events/index.js';
import { formatProblems } from '../rules/index.js';
import type { ProblemFormat } from '../rules/index.js';
import { loadRules } from '../rules/index.js';
import type { RuleProblem } from '../rules/index.js';
import type { CommandIO } from './io.js';
import { UsageError, parseArgs, wantsHelp } from './io.js';
import { withCustomEvents } from '../custom-events/index.js';

export const VALIDATE_USAGE = 'usage: extend-event-rules validate [file...] [--proto dir[,dir...]] [--env-file file] [--format text|json|github]\n';

export interface ValidateDefaults {
  /** The rules file when none is given (RULES_FILE). */
  readonly rulesFile: string;
  /** Proto directories when --proto is not given (PROTO_DIR). */
  readonly protoDirs: readonly string[];
  /** The environment `${env.X}` reads when --env-file is not given. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The actions rules may use. Default: the built-ins (`createDefaultRegistry()`). */
  readonly registry?: ActionRegistry;
}

/** The command line of `validate`. @throws {@link UsageError} */
function validateArgs(args: string[], defaults: ValidateDefaults): { files: string[]; protoDirs: string[]; format: ProblemFormat; envFile: string | undefined } {
  const { positionals, values } = parseArgs(args, { values: ['proto', 'env-file', 'format'] });
  const protoDirs = values.has('proto')
    ? values
        .get('proto')!
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => resolve(d))
    : [...defaults.protoDirs];
  const format = values.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'github') throw new UsageError(`--format must be text, json or github, not "${format}"`);
  return { files: (positionals.length > 0 ? positionals : [defaults.rulesFile]).map((f) => resolve(f)), protoDirs, format, envFile: values.get('env-file') };
}

/** A proto directory that does not load, as a problem of the rules file's check. */
function catalogProblem(err: unknown, protoDirs: readonly string[]): RuleProblem {
  return {
    file: err instanceof CatalogLoadError ? err.file : protoDirs.join(','),
    line: 1,
    column: 1,
    severity: 'error',
    code: 'catalog',
    message: err instanceof Error ? err.message : String(err),
    fix: 'check --proto / PROTO_DIR',
  };
}

export async function validateCommand(args: string[], io: CommandIO, defaults: ValidateDefaults): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout.write(VALIDATE_USAGE);
    return 0;
  }
  let parsed: ReturnType<typeof validateArgs>;
  try {
    parsed = validateArgs(args, defaults);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`extend-event-rules validate: ${err.message}\n${VALIDATE_USAGE}`);
      return 2;
    }
    throw err;
  }
  const { files, protoDirs, format, envFile } = parsed;
  let env: Readonly<Record<string, string | undefined>> = defaults.env;
  if (envFile !== undefined) {
    try {
      env = parseEnvFile(await readFile(envFile, 'utf8'));
    } catch (err) {
      io.stderr.write(`extend-event-rules validate: cannot read --env-file ${envFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return 2;
    }
  }

  let catalog;
  try {
    catalog = withCustomEvents(await loadCatalog({ dirs: protoDirs }));
  } catch (err) {
    const problem = catalogProblem(err, protoDirs);
    io.stderr.write(formatProblems([problem], format));
    return 1;
  }

  const registry = defaults.registry ?? createDefaultRegistry();
  // json: one array of every file's problems (each names its file)
  const jsonProblems: RuleProblem[] = [];
  let code = 0;
  for (const file of files) {
    const result = await loadRules({
      file,
      catalog,
      registry,
      env,
      // with an env file the environment is fully described: an unset variable is a mistake
      unsetEnv: envFile !== undefined ? 'error' : 'warn',
      facts: FACT_OPERATIONS,
    });
    const all = result.ok ? [...result.warnings] : [...result.problems, ...result.warnings].sort((a, b) => a.line - b.line || a.column - b.column);
    if (format === 'json') jsonProblems.push(...all);
    else if (all.length > 0) (result.ok ? io.stdout : io.stderr).write(formatProblems(all, format));
    if (!result.ok) {
      if (format === 'text') {
        const n = result.problems.length;
        io.stderr.write(`${file}: invalid: ${n} problem${n === 1 ? '' : 's'}\n`);
      }
      code = 1;
    } else if (format === 'text') {
      const rules = result.rules;
      const events = rules.services.size;
      io.stdout.write(`${file}: valid: ${rules.ruleCount} rule${rules.ruleCount === 1 ? '' : 's'} on ${events} event${events === 1 ? '' : 's'}\n`);
    }
  }
  if (format === 'json') io.stdout.write(formatProblems(jsonProblems, 'json'));
  return code;
}
