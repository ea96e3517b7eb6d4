/**
 * `samples <event>`: prints a complete sample of an event as pretty JSON (with
 * a fresh random `id` each time; every other value is stable);
 * `samples --list`: every loaded event, one per line: event name, full
 * service name, method path (what the sidecar calls), in aligned columns;
 * then the custom events: every topic and scheduled task the rules file
 * listens on (`topic:NAME`, `schedule:TASK`) and every typed topic
 * (`topics/NAME.schema.json`), with the wire service they arrive on.
 */
import { loadCatalog } from '../events/index.js';
import { sampleEvent, withFreshId } from '../events/index.js';
import { CatalogLoadError } from '../events/index.js';
import { UsageError, parseArgs } from './io.js';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as YamlApi from 'yaml';
import { CONSUMER_SERVICE, CONSUMER_PATH, SCHEDULER_PATH, SCHEDULER_SERVICE, customEventFromData, customOnName, topicOf, topicService, withCustomEvents } from '../custom-events/index.js';
import type { Catalog } from '../events/index.js';

/** No events: only the custom ones resolve (a typed topic's sample needs nothing of PROTO_DIR). */
const emptyCatalog = { dirs: [], files: [], services: [], skipped: [], header: () => undefined, resolve: () => ({ ok: false, reason: 'unknown', candidates: [] }), codec: () => { throw new Error('no codec'); }, root: undefined } as unknown as Catalog;

export const SAMPLES_USAGE = `usage: samples <event>   print a complete sample of the event as JSON
       samples --list    list every loaded event: name, service, method path (PROTO_DIR's, then the rules' topics and scheduled tasks)
       samples --topic NAME | --schedule TASK   a message of a topic, a run of a scheduled task
<event>: an event name (userLoggedIn), a service name (short or full) or a method path.`;

export interface SamplesOptions {
  /** The proto directories to load (the lead passes PROTO_DIR). Required. */
  readonly protoDirs: readonly string[];
  /** Folder of topic schemas (`topics/` beside RULES_FILE): a typed topic's sample body follows its schema. Default: none. */
  readonly topicsDir?: string;
  /** The rules file (RULES_FILE): `--list` lists the topics and scheduled tasks its rules listen on. Default: none. */
  readonly rulesFile?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The custom events of the project, sorted: the topics and scheduled tasks
 * the rules file listens on (read, not compiled: a file that does not parse
 * lists none; `validate` says why) and the typed topics of `topicsDir`.
 */
export function projectCustomEvents(rulesFile: string | undefined, topicsDir: string | undefined): string[] {
  const names = new Set<string>();
  if (rulesFile !== undefined) {
    try {
      // yaml required here, for `samples --list` only (its 73 modules are not loaded by `samples <event>`)
      const { parse: parseYaml } = createRequire(import.meta.url)('yaml') as typeof YamlApi;
      const data = parseYaml(readFileSync(rulesFile, 'utf8')) as unknown;
      for (const rule of isObject(data) && Array.isArray(data.rules) ? data.rules : []) {
        const name = isObject(rule) ? customOnName(rule.on) : undefined;
        if (name !== undefined) names.add(name);
      }
    } catch {
      // no rules file, or one that does not parse: no names from it
    }
  }
  if (topicsDir !== undefined) {
    try {
      for (const f of readdirSync(topicsDir)) if (f.endsWith('.schema.json') && f.length > '.schema.json'.length) names.add(`topic:${f.slice(0, -'.schema.json'.length)}`);
    } catch {
      // no topics folder
    }
  }
  return [...names].sort();
}

/** `{ body }` of a sample of a typed topic's schema (topics/NAME.schema.json); `{}` otherwise. */
function typedBodySample(eventName: string, topicsDir: string | undefined): Record<string, unknown> {
  const topic = topicOf(eventName);
  if (topic === undefined || topicsDir === undefined) return {};
  const service = withCustomEvents(emptyCatalog, { topicsDir }).resolve(eventName);
  if (!service.ok || service.service.requestType === topicService(topic).requestType) return {};
  return { body: sampleEvent(service.service).body };
}

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

export async function samplesCommand(
  args: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  options: SamplesOptions,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args, { flags: ['list', 'help', 'h'], values: ['topic', 'schedule'] });
    const named = parsed.positionals.length === 1 && /^(topic|schedule):./.test(parsed.positionals[0]!) ? parsed.positionals[0] : undefined; // as `samples --list` names them
    const custom = parsed.values.get('topic') !== undefined ? `topic:${parsed.values.get('topic')}` : parsed.values.get('schedule') !== undefined ? `schedule:${parsed.values.get('schedule')}` : named;
    if (custom !== undefined) {
      // a message of the topic (a run of the task) as the server receives it: edit body (payload) and pass it to explain, test or send
      write(io.stdout, JSON.stringify(customEventFromData(custom, typedBodySample(custom, options.topicsDir)), null, 2));
      return 0;
    }
    if (parsed.flags.has('help') || parsed.flags.has('h')) {
      write(io.stdout, SAMPLES_USAGE);
      return 0;
    }
    const count = parsed.positionals.length;
    if (parsed.flags.has('list') ? count !== 0 : count !== 1) {
      throw new UsageError(parsed.flags.has('list') ? '--list takes no event' : 'give exactly one event');
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    write(io.stderr, `${err.message}\n${SAMPLES_USAGE}`);
    return 2;
  }

  let catalog;
  let base;
  try {
    base = await loadCatalog({ dirs: options.protoDirs });
    catalog = withCustomEvents(base);
  } catch (err) {
    if (!(err instanceof CatalogLoadError)) throw err;
    write(io.stderr, err.message);
    return 1;
  }

  if (parsed.flags.has('list')) {
    // the events of PROTO_DIR, then the topics and scheduled tasks of the project (their names live in the rules and topics/, not in protos)
    const rows = base.services.map((s) => [s.eventName, s.fullName, s.path] as const);
    const custom = projectCustomEvents(options.rulesFile, options.topicsDir).map((n) => (topicOf(n) !== undefined ? ([n, CONSUMER_SERVICE, CONSUMER_PATH] as const) : ([n, SCHEDULER_SERVICE, SCHEDULER_PATH] as const)));
    const all = [...rows, ...custom];
    const nameWidth = Math.max(0, ...all.map((r) => r[0].length));
    const serviceWidth = Math.max(0, ...all.map((r) => r[1].length));
    const lines = all.map(([name, service, path]) => `${name.padEnd(nameWidth)}  ${service.padEnd(serviceWidth)}  ${path}`);
    write(io.stdout, lines.length ? lines.join('\n') : `no events in ${catalog.dirs.join(', ')}`);
    return 0;
  }

  const wanted = parsed.positionals[0]!;
  const found = catalog.resolve(wanted);
  if (!found.ok) {
    const list = found.candidates.map((c) => `  ${c}`).join('\n');
    // the rules' hints are loaded for this answer only (samples of an event loads no more than it needs)
    const { agsEventFix } = await import('../rules/index.js');
    write(
      io.stderr,
      found.reason === 'ambiguous'
        ? `"${wanted}" is ambiguous; it matches:\n${list}\nUse the full service name.`
        : `unknown event "${wanted}"${list ? `; did you mean:\n${list}` : ''}\n${!list && agsEventFix(wanted) ? agsEventFix(wanted)! : '(samples --list shows every event)'}`,
    );
    return 1;
  }
  // a fresh id per call: pasted into grpcurl or Postman twice, two events, not one and a duplicate
  write(io.stdout, JSON.stringify(withFreshId(found.service, sampleEvent(found.service)), null, 2));
  return 0;
}
