/**
 * "AGS credentials are never reachable from a rule", for every variable that carries a credential the app or
 * its trace exporter uses, not only AB_CLIENT_*, REDIS_URL and OTEL_EXPORTER_OTLP_HEADERS:
 * - the OTLP exporter reads the signal-specific `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (and endpoint) itself,
 *   as it reads `OTEL_EXPORTER_OTLP_HEADERS`: a rule may not read them, and their values are redacted;
 * - the userinfo of AB_BASE_URL and of the trace endpoints is a registered secret (configSecrets): the value
 *   a rule reads (`${env.AB_BASE_URL}` in a webhook's body) carries no such credential.
 */
import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig } from '../../src/config.js';
import { forbiddenEnvReason } from '../../src/rules/index.js';

const LIVE = { AB_CLIENT_ID: 'id', AB_NAMESPACE: 'mygame', AB_CLIENT_SECRET: 'client-secret-4711' };

describe('variables carrying credentials are out of the rules\' reach', () => {
  it.each(['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_LOGS_HEADERS', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_ZIPKIN_ENDPOINT'])(
    '%s is a forbidden-env for rules, and absent from the rules\' environment',
    (name) => {
      expect(forbiddenEnvReason(name)).toMatch(/credential of the app itself/);
      const c = loadConfig({ ...LIVE, [name]: 'https://user:trace-pass-4711@collector.example:4318' });
      expect(c.rulesEnv[name]).toBeUndefined();
      expect(JSON.stringify(c.rulesEnv)).not.toContain('trace-pass-4711');
    },
  );

  it('the OTLP traces headers and the userinfo of the traces endpoint the exporter reads are registered secrets', () => {
    const c = loadConfig({ ...LIVE, OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Authorization=Bearer%20traces-token-4711,x-key=traces-key-4711', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://endpoint-token-4711@collector.example:4318/v1/traces' });
    expect(configSecrets(c)).toEqual(expect.arrayContaining(['Bearer traces-token-4711', 'traces-token-4711', 'traces-key-4711', 'endpoint-token-4711']));
  });

  it('a rule reads AB_BASE_URL without the credentials of its userinfo', () => {
    const c = loadConfig({ ...LIVE, AB_BASE_URL: 'https://proxy:base-pass-4711@ags.example.com/prefix' });
    expect(c.ags.baseUrl).toBe('https://proxy:base-pass-4711@ags.example.com/prefix'); // the client still uses them
    expect(c.rulesEnv.AB_BASE_URL).toBe('https://ags.example.com/prefix');
    expect(loadConfig({ ...LIVE, AB_BASE_URL: 'https://ags.example.com' }).rulesEnv.AB_BASE_URL).toBe('https://ags.example.com'); // as written without
  });
});
