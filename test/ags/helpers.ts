/** Shared bits of the AGS / actions tests: a captured pino logger and a client factory. */
import { AgsClient } from '../../src/ags/client.js';
import type { AgsClientOptions } from '../../src/ags/client.js';
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

/** A client of the stand-in whose waits are recorded (and skipped) instead of slept. */
export function clientFor(ags: AgsStandIn, extra: Partial<AgsClientOptions> = {}): { client: AgsClient; delays: number[] } {
  const delays: number[] = [];
  const client = new AgsClient({
    baseUrl: ags.url,
    clientId: ags.clientId,
    clientSecret: ags.clientSecret,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    ...extra,
  });
  return { client, delays };
}

export const USER = '0123456789abcdef0123456789abcdef';
