/**
 * `extend-event-rules schema [--write [path] | --check [path]]`: prints the rules
 * file's JSON Schema (generated from the registered actions), writes it, or
 * checks that the file is what `--write` would write (exit 1 when stale)
 * (default path: rules.schema.json in the working directory). With typed
 * topics (`topics/*.schema.json` beside RULES_FILE) the schema types
 * `publishMessage`'s body per topic for the editor.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createDefaultRegistry } from '../actions/index.js';
import type { ActionRegistry } from '../actions/index.js';
import { buildRulesSchema } from '../rules/index.js';
import { topicSchemas } from '../custom-events/index.js';
import type { CommandIO } from './io.js';
import { UsageError, wantsHelp } from './io.js';

export const SCHEMA_USAGE = 'usage: extend-event-rules schema [--write [path] | --check [path]]\n';

/**
 * The schema file's exact text (what `--write` writes and the drift test
 * compares). `topicsDir`: the typed topics (`topics/NAME.schema.json`) type
 * `publishMessage`'s body per topic (src/rules/schema.ts). Default: none.
 */
export function renderRulesSchema(registry: ActionRegistry = createDefaultRegistry(), topicsDir?: string): string {
  const topics = topicsDir !== undefined ? topicSchemas(topicsDir) : {};
  return `${JSON.stringify(buildRulesSchema(registry, Object.keys(topics).length > 0 ? { topics } : {}), null, 2)}\n`;
}

export async function schemaCommand(args: string[], io: CommandIO, registry?: ActionRegistry, topicsDir?: string): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout.write(SCHEMA_USAGE);
    return 0;
  }
  let write: string | undefined;
  let check: string | undefined;
  try {
    const rest = [...args];
    const pathArg = (flag: string): string | undefined => {
      if (rest[0] === flag) {
        rest.shift();
        return rest[0] !== undefined && !rest[0].startsWith('-') ? rest.shift()! : 'rules.schema.json';
      }
      if (rest[0]?.startsWith(`${flag}=`)) return rest.shift()!.slice(flag.length + 1) || 'rules.schema.json';
      return undefined;
    };
    write = pathArg('--write');
    if (write === undefined) check = pathArg('--check');
    if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`extend-event-rules schema: ${err.message}\n${SCHEMA_USAGE}`);
      return 2;
    }
    throw err;
  }
  const text = renderRulesSchema(registry, topicsDir);
  if (check !== undefined) {
    const path = resolve(check);
    let current: string | undefined;
    try {
      current = await readFile(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) {
      io.stdout.write(`${path}: up to date\n`);
      return 0;
    }
    io.stderr.write(`${path}: ${current === undefined ? 'missing' : 'out of date (the actions, their parameters or topics/*.schema.json changed)'}: regenerate it with: npx extend-event-rules schema --write\n`);
    return 1;
  }
  if (write === undefined) {
    io.stdout.write(text);
    return 0;
  }
  const path = resolve(write);
  await writeFile(path, text);
  io.stdout.write(`wrote ${path}\n`);
  return 0;
}
