/**
 * `extend-event-rules send <event> [--data file.json|-] [--target host:port] [--metadata k=v]...`:
 * builds the event message from the loaded protos (partial data filled from
 * the sample event, as `samples` prints it; a fresh event `id` unless the data
 * gives one, printed on stderr), sends it to `/<service>/OnMessage`
 * of a running event handler, prints the gRPC status. Exit 0 on OK, 1 on any
 * other status, 2 on a usage or input error.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { readEventData } from '../authoring/index.js';
import { EventDataError, UnknownEventError } from '../authoring/index.js';
import { buildEvent, resolveEvent } from '../authoring/index.js';
import { withFreshId } from '../events/index.js';
import { TOPICS_FOLDER, encodeReceivedMessage, topicBodyProblems, topicNameProblem, topicSchema, topicService } from '../custom-events/index.js';
import { dirname, join } from 'node:path';
import type { EventService } from '../events/index.js';
import { DEFAULT_PORT } from '../contract/index.js';
import type { CommandIO } from './io.js';
import { sendScheduledRun } from './send-schedule.js';
import { UsageError, loadCommandCatalog, parseArgs, unaryCall } from './io.js';
import type { AuthoringDefaults } from './test.js';
import { printable } from '../text/index.js';

export const SEND_USAGE = 'usage: extend-event-rules send <event> [--data file.json|-] [--target host:port] [--metadata key=value]... [--timeout ms]\n       extend-event-rules send --topic NAME [--data body.json|-] [--target host:port] [--timeout ms]\n       extend-event-rules send --schedule TASK [--data payload.json|-] [--run-id id] [--target host:port] [--timeout ms]\n';

/** A message of `topic` with the body read from `spec` (a file, `-` for stdin; default `{}`), as the sidecar delivers it: a fresh `messageId` in its metadata. */
async function topicMessage(topic: string, spec: string | undefined, stdin: NodeJS.ReadableStream | undefined): Promise<{ service: EventService; bytes: Uint8Array; id: string; text: string }> {
  const bad = topicNameProblem(topic);
  if (bad) throw new UsageError(`--topic: ${bad.message}`);
  let text = '{}';
  if (spec !== undefined) {
    try {
      text = spec === '-' ? await readText(stdin) : await readFile(spec, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new EventDataError(spec === '-' ? 'stdin' : spec, code === 'ENOENT' ? 'the file does not exist' : `cannot read it: ${code ?? String(err)}`);
    }
  }
  const id = randomUUID();
  return { service: topicService(topic), bytes: encodeReceivedMessage({ topic, bodyText: text, metadata: { messageId: id } }, topic), id, text };
}

/**
 * A warning when `text` is a whole topic message (what `samples --topic` prints and `explain` takes: `topic`,
 * `body`, `bodyText`, `metadata`, `id`) rather than a body: `send --topic` sends `--data` as the body.
 */
function wholeMessageWarning(text: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch {
    return [];
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return [];
  const keys = Object.keys(data);
  const message = ['topic', 'metadata', 'body', 'bodyText', 'id'];
  if (!keys.includes('topic') || !(keys.includes('body') || keys.includes('bodyText')) || !keys.every((k) => message.includes(k))) return [];
  return ['--data looks like a whole topic message (topic, metadata, body: what samples --topic prints and explain takes); send --topic sends --data as the message\'s body: pass only the body (the value of its "body"). Sent as it is'];
}

/** Where a typed topic's body (topics/NAME.schema.json) does not fit its schema: sent as it is (the server does not check bodies), with a warning per place. */
function bodyWarnings(topic: string, text: string, topicsDir: string): string[] {
  const typed = topicSchema(topicsDir, topic);
  if (!typed?.schema) return [];
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    return [`the body is not JSON, and ${typed.file} types it; sent as it is`];
  }
  try {
    return topicBodyProblems(typed.schema, body).map((p) => `body${p.pointer.replace(/\//g, '.')} ${p.message} (${typed.file}); sent as it is`);
  } catch (err) {
    return [`${typed.file} does not compile as a JSON Schema: ${err instanceof Error ? err.message : String(err)}`];
  }
}

async function readText(stdin: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stdin) throw new Error('no standard input to read');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** Deadline of the call when --timeout is not given, ms. */
export const DEFAULT_SEND_TIMEOUT_MS = 15_000;

/** The status of one call: undefined on OK. */
function call(target: string, path: string, bytes: Uint8Array, metadata: grpc.Metadata, timeoutMs: number): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return unaryCall(client, path, bytes, metadata, timeoutMs).finally(() => client.close());
}

/** `--metadata` may repeat: take every occurrence out before the generic parser (which keeps the last). */
function takeMetadata(args: readonly string[]): { rest: string[]; pairs: string[] } {
  const rest: string[] = [];
  const pairs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--metadata' || a === '-m') {
      const v = args[++i];
      if (v === undefined) throw new UsageError('--metadata needs key=value');
      pairs.push(v);
    } else if (a.startsWith('--metadata=')) pairs.push(a.slice('--metadata='.length));
    else rest.push(a);
  }
  return { rest, pairs };
}

export async function sendCommand(args: string[], io: CommandIO, defaults: AuthoringDefaults): Promise<number> {
  const { rest, pairs } = takeMetadata(args);
  const { positionals, values, flags } = parseArgs(rest, { values: ['data', 'target', 'timeout', 'topic', 'schedule', 'run-id'], flags: ['help', 'h'] });
  if (flags.has('help') || flags.has('h')) {
    io.stdout.write(SEND_USAGE);
    return 0;
  }
  const topic = values.get('topic');
  if (topic !== undefined && positionals.length > 0) throw new UsageError('--topic NAME sends a message of that topic: give no event name with it');
  if (topic === undefined && values.get('schedule') === undefined && positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'send needs an event (e.g. userLoggedIn) or --topic NAME' : `one event at a time, got ${positionals.length}`);
  const metadata = new grpc.Metadata();
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata takes key=value, not "${p}"`);
    try {
      metadata.add(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1));
    } catch (err) {
      throw new UsageError(`--metadata ${p.slice(0, eq)}: ${(err as Error).message}`);
    }
  }
  const timeoutMs = values.has('timeout') ? Number(values.get('timeout')) : DEFAULT_SEND_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive number of milliseconds, not "${values.get('timeout')}"`);
  const port = defaults.env.PORT && defaults.env.PORT !== '' ? defaults.env.PORT : String(DEFAULT_PORT);
  const target = values.get('target') ?? `localhost:${port}`;

  const task = values.get('schedule');
  if (task !== undefined) {
    if (positionals.length > 0 || topic !== undefined) throw new UsageError('--schedule TASK sends a run of that task: give no event name or --topic with it');
    const namespace = defaults.env.AB_NAMESPACE && defaults.env.AB_NAMESPACE !== '' ? defaults.env.AB_NAMESPACE : 'mygame';
    const data = values.get('data');
    const runId = values.get('run-id');
    return await sendScheduledRun(task, { ...(data !== undefined ? { data } : {}), ...(runId !== undefined ? { runId } : {}), namespace, target, timeoutMs }, io);
  }
  const catalog = await loadCommandCatalog(defaults.protoDirs, io);
  if (!catalog) return 2;
  let service: EventService;
  let bytes: Uint8Array;
  let id: unknown;
  let idGiven: boolean;
  try {
    if (topic !== undefined) {
      // a message as the Async Messaging sidecar delivers it: the body as is, a fresh message id in its metadata
      const message = await topicMessage(topic, values.get('data'), io.stdin);
      ({ service, bytes, id } = message);
      for (const w of [...wholeMessageWarning(message.text), ...bodyWarnings(topic, message.text, join(dirname(defaults.rulesFile), TOPICS_FOLDER))]) io.stderr.write(`extend-event-rules send: warning: ${w}\n`);
      idGiven = false;
    } else {
      service = resolveEvent(catalog, positionals[0]!);
      const source = values.get('data') === '-' ? 'stdin' : (values.get('data') ?? 'data');
      const data = await readEventData(values.get('data'), io.stdin);
      // a new event each time (the server drops a repeated id as a redelivery), unless --data names its id
      const event = withFreshId(service, buildEvent(service, data, source), data);
      idGiven = typeof data['id'] === 'string' && data['id'] !== '';
      id = event['id'];
      bytes = catalog.codec(service).encode(event);
    }
  } catch (err) {
    if (err instanceof UnknownEventError || err instanceof EventDataError) {
      io.stderr.write(`extend-event-rules send: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const idText = typeof id === 'string' && id !== '' ? ` id ${id}${idGiven ? ' (from --data: the server handles an id once; send it again and it is answered OK as a duplicate)' : ''}` : '';
  io.stderr.write(`sending ${service.eventName}${idText} (${bytes.byteLength} bytes) to ${target}${service.path}\n`);
  const error = await call(target, service.path, bytes, metadata, timeoutMs);
  if (!error) {
    io.stdout.write('OK\n');
    return 0;
  }
  printFailure(io, error, target, service, timeoutMs);
  return 1;
}

/** A non-OK answer: `CODE: details` on stdout (details {@link printable}), then what it most likely means on stderr. */
function printFailure(io: CommandIO, error: grpc.ServiceError, target: string, service: EventService, timeoutMs: number): void {
  const code = grpc.status[error.code] ?? String(error.code);
  // grpc-js ends a connection failure with "Resolution note: " and nothing after it
  const details = (error.details || error.message).replace(/\.? Resolution note: ?$/, '');
  io.stdout.write(`${code}: ${printable(details)}\n`);
  if (error.code === grpc.status.UNAVAILABLE && /No connection established|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|Name resolution failed/.test(details)) {
    io.stderr.write(`is the server running at ${target}? start it with npm start (or give --target host:port)\n`);
  } else if (error.code === grpc.status.UNAVAILABLE) {
    // the handler's own answer (its state store down, an action paused...): the sidecar would deliver the event again
    io.stderr.write(`the server at ${target} answered UNAVAILABLE: the Extend sidecar would deliver this event again later; the server's log says why\n`);
  } else if (error.code === grpc.status.UNIMPLEMENTED) {
    io.stderr.write(`the server at ${target} does not serve ${service.fullName}: it serves the events its enabled rules listen on (add a rule on ${service.eventName}, or start it with EVENTS=all), and only those of its PROTO_DIR (restart it after adding a .proto)\n`);
  } else if (error.code === grpc.status.DEADLINE_EXCEEDED) {
    io.stderr.write(`no answer within ${timeoutMs} ms (--timeout)\n`);
  }
}
