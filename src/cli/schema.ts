/**
 * `extend-event-rules schema [--write [path]]`: prints the rules file's JSON
 * Schema (generated from the registered actions), or writes it
 * (default path: rules.schema.json in the working directory).
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createDefaultRegistry } from '../actions/builtins/index.js';
import type { ActionRegistry } from '../actions/registry.js';
import { buildRulesSchema } from '../rules/schema.js';
import type { CommandIO } from './io.js';
import { UsageError } from './io.js';

export const SCHEMA_USAGE = 'usage: extend-event-rules schema [--write [path]]\n';

/** The schema file's exact text (what `--write` writes and the drift test compares). */
export function renderRulesSchema(registry: ActionRegistry = createDefaultRegistry()): string {
  return `${JSON.stringify(buildRulesSchema(registry), null, 2)}\n`;
}

export async function schemaCommand(args: string[], io: CommandIO, registry?: ActionRegistry): Promise<number> {
  let write: string | undefined;
  try {
    const rest = [...args];
    if (rest[0] === '--write') {
      rest.shift();
      write = rest[0] !== undefined && !rest[0].startsWith('-') ? rest.shift()! : 'rules.schema.json';
    } else if (rest[0]?.startsWith('--write=')) {
      write = rest.shift()!.slice('--write='.length) || 'rules.schema.json';
    }
    if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`extend-event-rules schema: ${err.message}\n${SCHEMA_USAGE}`);
      return 2;
    }
    throw err;
  }
  const text = renderRulesSchema(registry);
  if (write === undefined) {
    io.stdout.write(text);
    return 0;
  }
  const path = resolve(write);
  await writeFile(path, text);
  io.stdout.write(`wrote ${path}\n`);
  return 0;
}
