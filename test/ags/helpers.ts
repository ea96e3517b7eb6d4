/** Shared bits of the AGS / actions tests: a captured pino logger and a client factory. */
import { AgsClient } from '../../src/ags/client.js';
import type { AgsClientOptions } from '../../src/ags/client.js';
import { HttpTransport } from '../../src/ags/transport.js';
import type { RawRequest, RawResponse } from '../../src/ags/transport.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type { Logger } from '../../src/telemetry/logger.js';
import type { AgsStandIn } from '../support/ags-stand-in.js';

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines };
}

/** The attempt timeout of a request the stand-in answers normally, under {@link ScriptAwareTransport}: out of reach. */
export const PATIENT_TIMEOUT_MS = 60_000;

/**
 * A transport for tests of the per-attempt timeout: the client's `timeoutMs` applies only to a request the stand-in is
 * scripted not to answer in time (its next scripted answer is `hang` or `answerLateMs`); any other request (the login,
 * the retry that succeeds) gets {@link PATIENT_TIMEOUT_MS}. So a short timeout races no answer on a loaded machine:
 * it fires only where nothing will come.
 */
export class ScriptAwareTransport extends HttpTransport {
  readonly #ags: AgsStandIn;

  constructor(ags: AgsStandIn) {
    super();
    this.#ags = ags;
  }

  override send(req: RawRequest): Promise<RawResponse> {
    const next = this.#ags.nextScripted(req.url.pathname);
    const unanswered = next !== undefined && ('hang' in next || 'answerLateMs' in next);
    return super.send(unanswered ? req : { ...req, timeoutMs: Math.max(req.timeoutMs, PATIENT_TIMEOUT_MS) });
  }
}

/**
 * A client of the stand-in whose waits are recorded (and skipped) instead of slept. With a `timeoutMs` (a test of the
 * attempt timeout), it sends through a {@link ScriptAwareTransport} (closed with the client) unless `transport` is given.
 */
export function clientFor(ags: AgsStandIn, extra: Partial<AgsClientOptions> = {}): { client: AgsClient; delays: number[] } {
  const delays: number[] = [];
  const transport = extra.timeoutMs !== undefined && extra.transport === undefined ? new ScriptAwareTransport(ags) : undefined;
  const client = new AgsClient({
    baseUrl: ags.url,
    clientId: ags.clientId,
    clientSecret: ags.clientSecret,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    ...(transport ? { transport } : {}),
    ...extra,
  });
  if (transport) {
    const close = client.close.bind(client);
    client.close = () => {
      close();
      transport.close();
    };
  }
  return { client, delays };
}

export const USER = '0123456789abcdef0123456789abcdef';
