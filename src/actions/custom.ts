/**
 * Custom actions: the modules of the project's `actions/` folder (`ACTIONS_DIR`),
 * loaded by the server and every CLI command next to the built-ins.
 *
 * - `*.ts`: compiled by `npm run build` (`extend-event-rules build-actions`) into
 *   `dist/custom-actions/` (same relative path, `.js`); that compiled file is
 *   loaded. Not compiled, or changed since the last build: an error saying to
 *   run `npm run build`.
 * - `*.js`, `*.mjs`: loaded as they are.
 * - `*.d.ts`, `*.test.ts`, files and folders starting with `.` or `_`: ignored.
 *
 * Each module's default export is one action definition (see `defineAction`,
 * `src/index.ts`) or an array of them. Named exports are free for helpers.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDefaultRegistry } from './builtins/index.js';
import type { ActionRegistry } from './registry.js';
import type { ActionDefinition } from './types.js';

/** The package root: dist/actions/custom.js (or src/actions/custom.ts) -> ../.. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm run build` puts the compiled `actions/*.ts`. */
export const COMPILED_ACTIONS_DIR = join(PACKAGE_ROOT, 'dist', 'custom-actions');

/** A custom action module could not be loaded: not compiled, stale, or it threw while loading. */
export class ActionModuleLoadError extends Error {
  override readonly name = 'ActionModuleLoadError';
  constructor(
    /** The module's source file. */
    readonly file: string,
    /** What went wrong. */
    readonly reason: string,
    /** What to do about it. */
    readonly fix: string,
  ) {
    super(`custom action ${file}: ${reason}\n    fix: ${fix}`);
  }
}

/** A custom action module loaded but does not export a valid action (or reuses a taken name). */
export class InvalidActionModuleError extends Error {
  override readonly name = 'InvalidActionModuleError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`custom action ${file}: ${reason}\n    fix: ${fix}`);
  }
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function isSource(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('_')) return false;
  if (name.endsWith('.d.ts') || /\.test\.[cm]?[jt]s$/.test(name)) return false;
  return ['.ts', '.js', '.mjs'].includes(extname(name));
}

/** The action module files under `dir`, sorted (load order, hence registration order). */
export function listActionModules(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name.startsWith('_') || entry.name === 'node_modules') continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && isSource(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

/** The file to import for a source file: itself, or its compiled form for `.ts`. */
function moduleFile(dir: string, file: string, compiledDir: string, shown: string): string {
  if (extname(file) !== '.ts') return file;
  const compiled = join(compiledDir, relative(dir, file).slice(0, -'.ts'.length) + '.js');
  if (!existsSync(compiled)) {
    throw new ActionModuleLoadError(shown, `is not compiled (no ${relative(process.cwd(), compiled) || compiled})`, 'run npm run build (npm start and npm test run it first)');
  }
  if (statSync(file).mtimeMs > statSync(compiled).mtimeMs + 1) {
    throw new ActionModuleLoadError(shown, 'changed since the last build', 'run npm run build (npm start and npm test run it first)');
  }
  return compiled;
}

/** What is wrong with an exported value as an action definition, or undefined. */
function definitionProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `it is ${value === null ? 'null' : Array.isArray(value) ? 'a nested array' : typeof value}, not an action definition`;
  const d = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof d.name !== 'string' || !NAME.test(d.name)) problems.push('name (letters, digits and _, starting with a letter)');
  if (typeof d.description !== 'string') problems.push('description (a string)');
  if (typeof d.params !== 'object' || d.params === null || (d.params as Record<string, unknown>).type !== 'object') problems.push('params (a JSON Schema with type: object)');
  if (typeof d.usesAgs !== 'boolean') problems.push('usesAgs (a boolean)');
  if (d.permission !== undefined && typeof d.permission !== 'string') problems.push('permission (a string, or absent)');
  for (const fn of ['normalize', 'plan', 'execute']) if (typeof d[fn] !== 'function') problems.push(`${fn} (a function)`);
  return problems.length ? `missing or invalid: ${problems.join(', ')}` : undefined;
}

export interface LoadActionsOptions {
  /** The folder of action modules (`ACTIONS_DIR`, resolved). A missing folder holds no action. */
  readonly dir: string;
  /** Where the compiled `.ts` modules are. Default: {@link COMPILED_ACTIONS_DIR}. */
  readonly compiledDir?: string;
}

/**
 * Imports every module of `options.dir` and registers its actions in `registry`,
 * in file order. Throws {@link ActionModuleLoadError} (not compiled, stale, threw
 * while loading) or {@link InvalidActionModuleError} (no default export, an
 * invalid definition, a name already taken), naming the file and the fix.
 */
export async function loadCustomActions(registry: ActionRegistry, options: LoadActionsOptions): Promise<ActionDefinition[]> {
  const dir = resolve(options.dir);
  const loaded: ActionDefinition[] = [];
  for (const file of listActionModules(dir)) {
    const shown = relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file).split(sep).join('/');
    const target = moduleFile(dir, file, options.compiledDir ?? COMPILED_ACTIONS_DIR, shown);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(target).href)) as Record<string, unknown>;
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      throw new ActionModuleLoadError(shown, `failed to load: ${message}`, 'fix the error in the module (it runs when loaded); a missing package needs npm install');
    }
    if (!('default' in mod) || mod.default === undefined) {
      throw new InvalidActionModuleError(shown, 'has no default export', 'end it with export default defineAction({ name, description, params, usesAgs, normalize, plan, execute }) (or an array of them)');
    }
    const definitions = Array.isArray(mod.default) ? (mod.default as unknown[]) : [mod.default];
    for (const [i, value] of definitions.entries()) {
      const where = Array.isArray(mod.default) ? `default export [${i}]` : 'the default export';
      const problem = definitionProblem(value);
      if (problem) throw new InvalidActionModuleError(shown, `${where}: ${problem}`, 'see defineAction in extend-event-rules (src/index.ts) for the fields an action has');
      const definition = value as ActionDefinition;
      if (registry.has(definition.name)) {
        throw new InvalidActionModuleError(shown, `action "${definition.name}" is already registered (a built-in or another module)`, `give the action another name than "${definition.name}"`);
      }
      registry.register(definition);
      loaded.push(definition);
    }
  }
  return loaded;
}

/**
 * The registry the server and the CLI use: the built-in actions, then the
 * custom actions of `actionsDir` (see {@link loadCustomActions}).
 */
export async function createAppRegistry(actionsDir: string, options: { compiledDir?: string } = {}): Promise<ActionRegistry> {
  const registry = createDefaultRegistry();
  await loadCustomActions(registry, { dir: actionsDir, ...options });
  return registry;
}
