/** What the commands share: their I/O, flag parsing, loading the catalog, one gRPC call. */
import { Writable } from 'node:stream';
import { redactText } from '../telemetry/index.js';
import type * as grpc from '@grpc/grpc-js';
import { loadCatalog } from '../events/index.js';
import { CatalogLoadError } from '../events/index.js';
import type { Catalog } from '../events/index.js';
import { withCustomEvents } from '../custom-events/index.js';

/** Where a command writes: injected so tests can capture it. */
export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Standard input, for `--data -`. */
  readonly stdin?: NodeJS.ReadableStream;
}

/** A command: arguments after its name -> exit code. */
export type Command = (args: string[], io: CommandIO) => Promise<number>;

/** A usage mistake: printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Did the user ask for a command's usage (`--help` or `-h` anywhere in its arguments)? */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** Minimal flag parsing: `--name value`, `--name=value`, `--flag`, positionals. */
export function parseArgs(
  args: readonly string[],
  spec: { readonly values?: readonly string[]; readonly flags?: readonly string[] },
): { positionals: string[]; values: Map<string, string>; flags: Set<string> } {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq >= 0 ? arg.slice(0, eq) : arg).replace(/^--?/, '');
    if (spec.values?.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, value);
    } else if (spec.flags?.includes(name)) {
      flags.add(name);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  return { positionals, values, flags };
}

/** Loads the event catalog for a command. A catalog that does not load is printed with the setting to check; the caller exits 2. */
export async function loadCommandCatalog(dirs: readonly string[], io: CommandIO): Promise<Catalog | undefined> {
  try {
    return withCustomEvents(await loadCatalog({ dirs: [...dirs] }));
  } catch (err) {
    if (!(err instanceof CatalogLoadError)) throw err;
    io.stderr.write(`${err.message}\n(check PROTO_DIR)\n`);
    return undefined;
  }
}

/** One unary call of an encoded event on `path`: the error status, or undefined on OK. */
export function unaryCall(client: grpc.Client, path: string, bytes: Uint8Array, metadata: grpc.Metadata, timeoutMs: number): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      metadata,
      { deadline: Date.now() + timeoutMs },
      (error) => resolve(error ?? undefined),
    );
  });
}

/** A stream writing to `target` with registered secret values redacted (the CLI's stdout and stderr). */
export function redacting(target: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Writable({
    decodeStrings: false,
    write(chunk: unknown, _encoding, callback) {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      target.write(redactText(text), (err) => callback(err ?? null));
    },
  });
}
