/**
 * `samples <event>`: prints a complete sample of an event as pretty JSON (with
 * a fresh random `id` each time; every other value is stable);
 * `samples --list`: every loaded event, one per line: event name, full
 * service name, method path (what the sidecar calls), in aligned columns.
 */
import { loadCatalog } from '../events/index.js';
import { sampleEvent, withFreshId } from '../events/index.js';
import { CatalogLoadError } from '../events/index.js';
import { UsageError, parseArgs } from './io.js';
import { customEventFromData, topicOf, topicService, withCustomEvents } from '../custom-events/index.js';
import type { Catalog } from '../events/index.js';

/** No events: only the custom ones resolve (a typed topic's sample needs nothing of PROTO_DIR). */
const emptyCatalog = { dirs: [], files: [], services: [], skipped: [], header: () => undefined, resolve: () => ({ ok: false, reason: 'unknown', candidates: [] }), codec: () => { throw new Error('no codec'); }, root: undefined } as unknown as Catalog;

export const SAMPLES_USAGE = `usage: samples <event>   print a complete sample of the event as JSON
       samples --list    list every loaded event: name, service, method path
       samples --topic NAME | --schedule TASK   a message of a topic, a run of a scheduled task
<event>: an event name (userLoggedIn), a service name (short or full) or a method path.`;

export interface SamplesOptions {
  /** The proto directories to load (the lead passes PROTO_DIR). Required. */
  readonly protoDirs: readonly string[];
  /** Folder of topic schemas (`topics/` beside RULES_FILE): a typed topic's sample body follows its schema. Default: none. */
  readonly topicsDir?: string;
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
    const custom = parsed.values.get('topic') !== undefined ? `topic:${parsed.values.get('topic')}` : parsed.values.get('schedule') !== undefined ? `schedule:${parsed.values.get('schedule')}` : undefined;
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
    // the events of PROTO_DIR; topics and scheduled tasks are named by the rules (samples --topic NAME)
    const services = base.services;
    const nameWidth = Math.max(0, ...services.map((s) => s.eventName.length));
    const serviceWidth = Math.max(0, ...services.map((s) => s.fullName.length));
    const lines = services.map((s) => `${s.eventName.padEnd(nameWidth)}  ${s.fullName.padEnd(serviceWidth)}  ${s.path}`);
    write(io.stdout, lines.length ? lines.join('\n') : `no events in ${catalog.dirs.join(', ')}`);
    return 0;
  }

  const wanted = parsed.positionals[0]!;
  const found = catalog.resolve(wanted);
  if (!found.ok) {
    const list = found.candidates.map((c) => `  ${c}`).join('\n');
    write(
      io.stderr,
      found.reason === 'ambiguous'
        ? `"${wanted}" is ambiguous; it matches:\n${list}\nUse the full service name.`
        : `unknown event "${wanted}"${list ? `; did you mean:\n${list}` : ''}\n(samples --list shows every event)`,
    );
    return 1;
  }
  // a fresh id per call: pasted into grpcurl or Postman twice, two events, not one and a duplicate
  write(io.stdout, JSON.stringify(withFreshId(found.service, sampleEvent(found.service)), null, 2));
  return 0;
}
