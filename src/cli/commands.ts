/**
 * `extend-event-rules <command>`: the server (default) and the tools around
 * the rules file, as a table of commands. Each command lives in its own module,
 * loaded on demand. The bin (index.ts) only wires argv, the process's streams
 * and its exit code to {@link runCli}; tests call runCli in-process.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { configSecrets, loadConfig, readEnvironment } from '../config.js';
import { DEFAULT_PORT } from '../contract/index.js';
import { registerSecret } from '../telemetry/index.js';
import { didYouMean } from '../text/index.js';
import type { Command, CommandIO } from './io.js';
import { UsageError } from './io.js';

const USAGE = `extend-event-rules: AGS Extend event handler driven by rules.yaml

Usage:
  extend-event-rules [serve]                 run the event handler (gRPC on PORT, default ${DEFAULT_PORT})
  extend-event-rules validate [files...] [--proto dirs] [--env-file f] [--format text|json|github]
  extend-event-rules test [files...]         run rule tests (default rules.test.yaml), offline
  extend-event-rules explain <event> [--data file.json|-] [--json] [--now iso] [--rules file] [--history file.yaml] [--facts file.json]
  extend-event-rules send <event> [--data file.json|-] [--target host:port] [--metadata k=v]... [--timeout ms]
  extend-event-rules send --topic NAME [--data body.json|-] [--target host:port]   a message of a topic
  extend-event-rules send --schedule TASK [--data payload.json|-] [--run-id id]   a run of a scheduled task
  extend-event-rules samples <event> | --list | --topic NAME | --schedule TASK
  extend-event-rules replay [dead-letter-file] [--target host:port] [--force] [filters] [--limit n] [--cursor c]
  extend-event-rules dead-letters list [file] [filters] [--limit n] [--cursor c] [--json]   dead letters in the store (or file)
      filters: --rule name --action name --reason text --since when --until when
      (when: 2026-12-01T00:00:00Z or a duration ago: 30m, 2h, 7d; --cursor: the "more:" cursor of the page before)
  extend-event-rules schema [--write [path] | --check [path]]  print, write or check rules.schema.json
  extend-event-rules build-actions           compile the .ts custom actions of ACTIONS_DIR (npm run build does)
  extend-event-rules help | --version

Configuration comes from the environment (and .env): see docs/configuration.md.
Custom actions: the modules of ACTIONS_DIR (default actions/) are loaded by every command.
`;

function defaults() {
  const env = readEnvironment();
  const config = loadConfig(env);
  for (const secret of configSecrets(config)) registerSecret(secret);
  return { env, config, protoDirs: config.protoDirs.map((d) => resolve(d)), rulesFile: resolve(config.rulesFile), actionsDir: resolve(config.actionsDir) };
}

/** The built-in actions and the custom ones of ACTIONS_DIR, as the server has them. */
async function registry(actionsDir = defaults().actionsDir) {
  return (await import('../actions/index.js')).createAppRegistry(actionsDir);
}

const commands: Record<string, Command> = {
  serve: async () => (await import('../main.js')).runServer(),
  validate: async (args, io) => {
    const d = defaults();
    return (await import('./validate.js')).validateCommand(args, io, { rulesFile: d.rulesFile, protoDirs: d.protoDirs, env: d.config.rulesEnv, registry: await registry(d.actionsDir) });
  },
  samples: async (args, io) => {
    const d = defaults();
    return (await import('./samples.js')).samplesCommand(args, io, { protoDirs: d.protoDirs, topicsDir: resolve(dirname(d.rulesFile), 'topics'), rulesFile: d.rulesFile });
  },
  replay: async (args, io) => {
    const d = defaults();
    const actions = await registry(d.actionsDir);
    return (await import('./replay.js')).replayCommand(args, io, { protoDirs: d.protoDirs, config: d.config, hasLookup: (action) => actions.get(action)?.reconcile !== undefined });
  },
  'dead-letters': async (args, io) => (await import('./dead-letters.js')).deadLettersCommand(args, io, { config: defaults().config }),
  'build-actions': async (args, io) => (await import('./build-actions.js')).buildActionsCommand(args, io, { actionsDir: defaults().actionsDir }),
  schema: async (args, io) => (await import('./schema.js')).schemaCommand(args, io, await registry(), resolve(dirname(defaults().rulesFile), 'topics')),
  test: async (args, io) => (await import('./test.js')).testCommand(args, io, { ...authoringDefaults(), registry: await registry() }),
  explain: async (args, io) => (await import('./explain.js')).explainCommand(args, io, { ...authoringDefaults(), registry: await registry() }),
  send: async (args, io) => (await import('./send.js')).sendCommand(args, io, authoringDefaults()),
};

export function authoringDefaults() {
  const d = defaults();
  return { rulesFile: d.rulesFile, protoDirs: d.protoDirs, env: d.config.rulesEnv };
}

/**
 * Runs the command named by `argv[0]` (default `serve`) with the rest of `argv`.
 * Returns the exit code: 0 done, 1 failed (the error printed on `io.stderr`),
 * 2 a usage mistake (printed with the usage). Never throws.
 */
export async function runCli(argv: string[], io: CommandIO): Promise<number> {
  const [name = 'serve', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version: string };
    io.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    const hint = didYouMean(name, [...Object.keys(commands), 'help']);
    io.stderr.write(`extend-event-rules: unknown command "${name}"${hint ? `: ${hint}` : ''}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`extend-event-rules ${name}: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`extend-event-rules ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
