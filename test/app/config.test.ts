import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ENV_VARS, configSecrets, loadConfig, parseEnvFile, readEnvironment } from '../../src/config.js';
import { DEFAULT_EVENT_DEADLINE_MS, DEFAULT_LEASE_MS } from '../../src/delivery/index.js';
import { DEFAULT_GRPC_LIMITS, DEFAULT_PORT } from '../../src/server/index.js';
import { redactText } from '../../src/telemetry/index.js';

describe('config', () => {
  it('defaults to a dry run with demo values when no AGS credentials are set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(6565);
    expect(c.prometheus).toEqual({ enabled: true, port: 8080, path: '/metrics', prefix: '' });
    expect(c.protoDirs).toEqual(['proto']);
    expect(c.rulesFile).toBe('rules.yaml');
    expect(c.dryRun).toBe(true);
    expect(c.dryRunReason).toMatch(/no AGS credential is set/);
    expect(c.rulesEnv.AB_NAMESPACE).toBe('mygame');
    expect(c.ags.namespace).toBe('mygame');
    expect(c.demoEnv).toEqual(['AB_NAMESPACE=mygame', 'ITEM_ID_TO_GRANT=demo-item-id']);
    expect(c.tracing.exporter).toBe('none');
    expect(c.tracing.serviceName).toBe('extend-app-event-handler');
    expect(c.dedupeRetentionMs).toBe(7 * 24 * 3_600_000);
  });

  it('uses real values and no demo values once credentials are set', () => {
    const c = loadConfig({ AB_CLIENT_ID: 'id', AB_CLIENT_SECRET: 's', AB_NAMESPACE: 'ns', PROTO_DIR: 'a, b', AB_BASE_URL: 'https://x.io/' });
    expect(c.dryRun).toBe(false);
    expect(c.demoEnv).toEqual([]);
    expect(c.rulesEnv.ITEM_ID_TO_GRANT).toBeUndefined();
    expect(c.protoDirs).toEqual(['a', 'b']);
    expect(c.ags.baseUrl).toBe('https://x.io');
  });

  it.each([
    [{ AB_CLIENT_ID: 'id' }, ['AB_CLIENT_SECRET', 'AB_NAMESPACE']],
    [{ AB_CLIENT_ID: 'id', AB_NAMESPACE: 'mygame' }, ['AB_CLIENT_SECRET']],
    [{ AB_CLIENT_SECRET: 'secret' }, ['AB_CLIENT_ID', 'AB_NAMESPACE']],
    [{ AB_BASE_URL: 'https://x.io' }, ['AB_CLIENT_ID', 'AB_CLIENT_SECRET', 'AB_NAMESPACE']],
    [{ AB_BASE_URL: 'https://x.io', AB_NAMESPACE: 'mygame' }, ['AB_CLIENT_ID', 'AB_CLIENT_SECRET']],
  ])('a partial AGS configuration %j refuses to start, naming every missing variable (issue 22.6)', (env, missing) => {
    const err = (() => {
      try {
        loadConfig(env);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(missing.join(', '));
    for (const name of missing) expect((err as Error).message).toContain(name);
    expect((err as Error).message).toMatch(/DRY_RUN=true/);
  });

  it('AB_NAMESPACE alone (no credential, no base URL) is a dry run in that namespace', () => {
    const c = loadConfig({ AB_NAMESPACE: 'mygame' });
    expect(c.dryRun).toBe(true);
    expect(c.ags.namespace).toBe('mygame');
  });

  it('a partial AGS configuration with DRY_RUN=true is the dry run asked for', () => {
    expect(loadConfig({ AB_CLIENT_ID: 'id', DRY_RUN: 'true' }).dryRun).toBe(true);
  });

  it.each(['my game', 'ns\r\nX', 'ns/other', '-ns', 'ns--x', 'x'.repeat(65)])('AB_NAMESPACE %j is not an AGS namespace: refused', (ns) => {
    expect(() => loadConfig({ AB_CLIENT_ID: 'id', AB_CLIENT_SECRET: 'secret', AB_NAMESPACE: ns })).toThrow(/AB_NAMESPACE: .*not an AGS namespace/);
  });

  it('DRY_RUN=true forces a dry run even with credentials', () => {
    const c = loadConfig({ AB_CLIENT_ID: 'id', AB_CLIENT_SECRET: 's', DRY_RUN: 'true' });
    expect(c.dryRun).toBe(true);
    expect(c.dryRunReason).toBe('DRY_RUN=true');
  });

  it('derives the tracing exporter and service name as the templates do', () => {
    expect(loadConfig({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://z:9411/api/v2/spans' }).tracing.exporter).toBe('zipkin');
    expect(loadConfig({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://z', ENABLE_ZIPKIN: 'false' }).tracing.exporter).toBe('none');
    expect(loadConfig({ OTEL_SERVICE_NAME: 'MyApp' }).tracing.serviceName).toBe('extend-app-eh-myapp');
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing.exporter).toBe('otlp');
  });

  it('names the variable and the fix on a bad value', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT: "abc" is not an integer/);
    expect(() => loadConfig({ ENABLE_REFLECTION: 'maybe' })).toThrow(/ENABLE_REFLECTION: "maybe" is not a boolean/);
    expect(() => loadConfig({ EVENTS: 'some' })).toThrow(/EVENTS/);
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER/);
  });

  it('reports every bad variable at once, in one error (three bad variables, one restart)', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'abc', ENABLE_REFLECTION: 'maybe', STATE_STORE: 'postgres' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.problems.map((p) => p.variable)).toEqual(['PORT', 'STATE_STORE', 'ENABLE_REFLECTION']);
    expect(e.message).toMatch(/^3 configuration problems:/);
    expect(e.message).toMatch(/PORT: "abc" is not an integer/);
    expect(e.message).toMatch(/ENABLE_REFLECTION: "maybe" is not a boolean/);
    expect(e.message).toMatch(/STATE_STORE: "postgres" is not one of cloudsave, redis, memory/);
    // value problems and combination problems together (a partial AGS configuration, a lease under the deadline)
    expect(() => loadConfig({ AB_CLIENT_ID: 'id', LOG_LEVEL: 'loud', EVENT_DEADLINE_MS: '70000' })).toThrow(
      /^3 configuration problems:\n {2}LOG_LEVEL: "loud".*\n {2}AB_CLIENT_SECRET, AB_NAMESPACE: are missing.*\n {2}DEDUPE_LEASE_MS: 60000 must be greater/,
    );
    // a refused value does not cause a second, derived complaint
    expect(() => loadConfig({ EVENT_DEADLINE_MS: 'soon' })).toThrow(/^EVENT_DEADLINE_MS: "soon" is not an integer >= 1$/);
  });

  it('checks LOG_LEVEL, with did you mean', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL: "verbose" is not one of trace, debug, info, warn, error, fatal, silent/);
    expect(() => loadConfig({ LOG_LEVEL: 'warning' })).toThrow(/LOG_LEVEL: .*did you mean "warn"/);
    expect(() => loadConfig({ LOG_LEVEL: 'debgu' })).toThrow(/did you mean "debug"/);
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(loadConfig({}).logLevel).toBe('info');
  });

  it('registers no secret while parsing: the wiring hands configSecrets to the redactor', () => {
    const secret = 'parse-time-secret-4711';
    const c = loadConfig({ AB_CLIENT_ID: 'id', AB_NAMESPACE: 'mygame', AB_CLIENT_SECRET: secret, REDIS_URL: 'redis://:redis-pass-4711@r:6379', OTEL_EXPORTER_OTLP_HEADERS: 'x-key=otlp-key-4711,plain' });
    expect(redactText(`a ${secret} b`)).toContain(secret);
    expect(configSecrets(c).sort()).toEqual([secret, 'otlp-key-4711', 'redis-pass-4711'].sort());
  });

  it('credentials in a URL: AB_BASE_URL\'s and the trace endpoints\' userinfo (a password, else a lone token), REDIS_URL\'s ?password= (ioredis reads it)', () => {
    const base = { AB_CLIENT_ID: 'id', AB_NAMESPACE: 'mygame', AB_CLIENT_SECRET: 'client-secret-4711' };
    expect(configSecrets(loadConfig({ ...base, AB_BASE_URL: 'https://proxy:base-pass%2F4711@ags.example.com' })).sort()).toEqual(['base-pass%2F4711', 'base-pass/4711', 'client-secret-4711'].sort());
    expect(configSecrets(loadConfig({ ...base, AB_BASE_URL: 'https://token-4711-abc@ags.example.com' })).sort()).toEqual(['client-secret-4711', 'token-4711-abc'].sort());
    expect(configSecrets(loadConfig({ ...base, REDIS_URL: 'redis://r:6379/0?password=query-pass-4711' })).sort()).toEqual(['client-secret-4711', 'query-pass-4711'].sort());
    expect(configSecrets(loadConfig({ ...base, REDIS_URL: 'redis://default@r:6379' }))).toEqual(['client-secret-4711']); // a Redis user name alone is no secret
    expect(configSecrets(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp-token-4711@collector:4318' }))).toEqual(['otlp-token-4711']);
  });

  it.each([
    ['a "/" in the password, not percent-encoded', 'redis://:pass/word-4711@redis.internal:6379', /REDIS_URL: is not a valid URL .*percent-encode/],
    ['a "#" in the password', 'redis://default:pa#ss-4711@redis.internal:6379/0', /REDIS_URL: is not a valid URL .*percent-encode/],
    ['a port beyond 65535', 'redis://:secret-4711@redis.internal:99999', /REDIS_URL: is not a valid URL .*port/],
    ['another scheme', 'http://:secret-4711@redis.internal:6379', /REDIS_URL: starts with http:\/\/: a Redis URL is redis:\/\//],
  ])('a malformed REDIS_URL (%s): the error names REDIS_URL and the fix, never the value', (_case, url, expected) => {
    const env = { AB_CLIENT_ID: 'id', AB_NAMESPACE: 'mygame', AB_CLIENT_SECRET: 'client-secret', REDIS_URL: url };
    let message = '';
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(expected);
    expect(message).not.toContain('4711');
  });

  it('the forms of REDIS_URL ioredis reads are accepted; a REDIS_URL the resolved store does not use is not checked', () => {
    const base = { AB_CLIENT_ID: 'id', AB_NAMESPACE: 'mygame', AB_CLIENT_SECRET: 'client-secret' };
    for (const url of ['redis://:p%2Fw@r:6379/0', 'rediss://user:pw@r', 'redis://r:6379/0?password=x', 'r:6379', '//r:6379', '/tmp/redis.sock', '6379', 'redis://:p@ss@r:6379']) {
      expect(loadConfig({ ...base, REDIS_URL: url }).stateStore).toBe('redis');
    }
    expect(loadConfig({ ...base, STATE_STORE: 'cloudsave', REDIS_URL: 'redis://:a/b@r:6379' }).stateStore).toBe('cloudsave');
  });

  it('an OTLP header of an auth scheme: its credential alone is a secret too (a collector may echo the token without "Bearer")', () => {
    const c = loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20otlp-token-4711,x-other=Basic dXNlcjpwYXNzd29yZA==' });
    expect(configSecrets(c).sort()).toEqual(['Basic dXNlcjpwYXNzd29yZA==', 'Bearer otlp-token-4711', 'dXNlcjpwYXNzd29yZA==', 'otlp-token-4711'].sort());
  });

  it('takes its defaults from the modules that use them (written once)', () => {
    const byName = (n: string) => ENV_VARS.find((e) => e.name === n)!.default;
    expect(byName('PORT')).toBe(String(DEFAULT_PORT));
    expect(byName('EVENT_DEADLINE_MS')).toBe(String(DEFAULT_EVENT_DEADLINE_MS));
    expect(byName('DEDUPE_LEASE_MS')).toBe(String(DEFAULT_LEASE_MS));
    expect(byName('GRPC_MAX_MESSAGE_BYTES')).toBe(String(DEFAULT_GRPC_LIMITS.maxReceiveMessageBytes));
  });

  it('reads the idempotency lease, retention and Redis start-up wait, and keeps the lease above the event deadline', () => {
    const d = loadConfig({});
    expect(d.dedupeLeaseMs).toBe(60_000);
    expect(d.eventDeadlineMs).toBe(25_000);
    expect(d.redisConnectTimeoutMs).toBe(5000);
    const c = loadConfig({ DEDUPE_LEASE_MS: '95000', EVENT_DEADLINE_MS: '80000', DEDUPE_RETENTION_HOURS: '24', REDIS_CONNECT_TIMEOUT_MS: '250' });
    expect(c.dedupeLeaseMs).toBe(95_000);
    expect(c.eventDeadlineMs).toBe(80_000);
    expect(c.dedupeRetentionMs).toBe(24 * 3_600_000);
    expect(c.redisConnectTimeoutMs).toBe(250);
    expect(() => loadConfig({ EVENT_DEADLINE_MS: '60000' })).toThrow(/DEDUPE_LEASE_MS: 60000 must be greater than EVENT_DEADLINE_MS \(60000\)/);
    // a request sent just before the deadline is awaited up to AGS_TIMEOUT_MS more: the claim must outlive it (else
    // another replica takes it over while the request is in flight, finds nothing applied yet and sends it again)
    expect(() => loadConfig({ DEDUPE_LEASE_MS: '30000', EVENT_DEADLINE_MS: '25000' })).toThrow(
      /DEDUPE_LEASE_MS: 30000 must be greater than EVENT_DEADLINE_MS \+ the smaller of AGS_TIMEOUT_MS and EVENT_DEADLINE_MS \(35000\)/,
    );
    expect(loadConfig({ DEDUPE_LEASE_MS: '30000', EVENT_DEADLINE_MS: '25000', AGS_TIMEOUT_MS: '4000' }).dedupeLeaseMs).toBe(30_000);
    expect(() => loadConfig({ DEDUPE_LEASE_MS: '2000', EVENT_DEADLINE_MS: '1000' })).toThrow(/\(2000\)/); // the attempt's timeout is bounded by the call's budget
    expect(() => loadConfig({ DEDUPE_LEASE_MS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ DEDUPE_LEASE_MS: 'soon' })).toThrow(/DEDUPE_LEASE_MS: "soon" is not an integer/);
  });

  it('documents every variable it reads in ENV_VARS', () => {
    const names = ENV_VARS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['DEDUPE_LEASE_MS', 'DEDUPE_RETENTION_HOURS', 'REDIS_URL', 'REDIS_CONNECT_TIMEOUT_MS', 'DEAD_LETTER_FILE', 'EVENT_DEADLINE_MS', 'SHUTDOWN_GRACE_MS']) {
      const v = ENV_VARS.find((e) => e.name === n);
      expect(v, n).toBeDefined();
      expect(v!.description.length).toBeGreaterThan(10);
    }
  });

  it('reads .env under the real environment, as docker compose does', () => {
    expect(parseEnvFile('# c\nA=1\nexport B="two words"\nC=x # note\n\nbad line')).toEqual({ A: '1', B: 'two words', C: 'x' });
    const dir = mkdtempSync(join(tmpdir(), 'eer-env-'));
    writeFileSync(join(dir, '.env'), 'AB_NAMESPACE=fromfile\nPORT=7000\n');
    const env = readEnvironment({ PORT: '7001' }, dir);
    expect(env.AB_NAMESPACE).toBe('fromfile');
    expect(env.PORT).toBe('7001');
  });
});
