/**
 * Issue 27: `LOG_FORMAT=pretty` gives lines for a person (pino-pretty: time,
 * level, message, the fields below), still redacted; `json` one JSON object
 * a line; empty: decided by the terminal (the wiring: pretty when stdout is
 * one). Read through the typed configuration (src/config.ts).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { clearSecrets, registerSecret } from '../../src/telemetry/redact.js';
import { waitFor } from '../support/wait.js';

afterEach(() => clearSecrets());

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('LOG_FORMAT', () => {
  it('is read through the typed configuration: json, pretty, empty (the terminal decides); anything else refused with did you mean', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ LOG_FORMAT: ' JSON ' }).logFormat).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'prety' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_FORMAT: 'prety' })).toThrow(/LOG_FORMAT.*"prety" is not one of json, pretty \(did you mean "pretty"\?\)/);
  });

  it('pretty: level and message first, the fields on their own lines, no JSON, secrets redacted', async () => {
    registerSecret('s3cr3t-value-123');
    const sink = new Sink();
    const logger = createLogger({ format: 'pretty', destination: sink, colorize: false });
    logger.info({ rule: 'daily-login-reward', outcome: 'done' }, 'event handled with s3cr3t-value-123');
    await waitFor('the pretty line', () => (sink.text.includes('event handled') ? true : undefined));
    expect(sink.text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: event handled with \[redacted\]\n {4}rule: "daily-login-reward"\n {4}outcome: "done"\n/);
    expect(sink.text).not.toContain('s3cr3t');
    expect(sink.text).not.toContain('{"');
  });

  it('json (the default): one JSON object a line', () => {
    const sink = new Sink();
    createLogger({ destination: sink }).info({ rule: 'r' }, 'hello');
    expect(JSON.parse(sink.text.trim())).toMatchObject({ level: 'info', msg: 'hello', rule: 'r', service: 'extend-event-rules' });
  });
});
