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

export const SAMPLES_USAGE = `usage: samples <event>   print a complete sample of the event as JSON
       samples --list    list every loaded event: name, service, method path
<event>: an event name (userLoggedIn), a service name (short or full) or a method path.`;

export interface SamplesOptions {
  /** The proto directories to load (the lead passes PROTO_DIR). Required. */
  readonly protoDirs: readonly string[];
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
    parsed = parseArgs(args, { flags: ['list', 'help', 'h'] });
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
  try {
    catalog = await loadCatalog({ dirs: options.protoDirs });
  } catch (err) {
    if (!(err instanceof CatalogLoadError)) throw err;
    write(io.stderr, err.message);
    return 1;
  }

  if (parsed.flags.has('list')) {
    const nameWidth = Math.max(0, ...catalog.services.map((s) => s.eventName.length));
    const serviceWidth = Math.max(0, ...catalog.services.map((s) => s.fullName.length));
    const lines = catalog.services.map((s) => `${s.eventName.padEnd(nameWidth)}  ${s.fullName.padEnd(serviceWidth)}  ${s.path}`);
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
