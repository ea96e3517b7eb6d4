/**
 * `node scripts/lint-dockerfile.mjs` (the command .ci/run runs): passes on the
 * project's Dockerfile and fails, printing file:line:col, on a broken one.
 * Also: .dockerignore keeps out what must not be sent, and docker-compose.yaml
 * has what the templates' users expect.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/prereq.js';
import { parseDockerIgnore } from './dockerfile-stages.js';

const SCRIPT = resolve(REPO_ROOT, 'scripts', 'lint-dockerfile.mjs');
const dir = mkdtempSync(join(tmpdir(), 'eer-dockerlint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(...files: string[]) {
  return spawnSync(process.execPath, [SCRIPT, ...files], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
}

describe('scripts/lint-dockerfile.mjs', () => {
  it('passes on the Dockerfile', () => {
    const result = lint();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Dockerfile: no problems/);
  });

  it('fails on a broken Dockerfile and says where', () => {
    const bad = join(dir, 'Dockerfile.bad');
    writeFileSync(bad, 'FROM node:24-bookworm-slim AS build\ncopy --form=build a b\nWORKDIR app\nEXPOSE port\nCMD ["a"]\nCMD ["b"]\n');
    const result = lint(bad);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Dockerfile\.bad:2:1: error: .*uppercase/);
    expect(result.stderr).toMatch(/Dockerfile\.bad:2:\d+: error: Unknown flag: form/);
    expect(result.stderr).toMatch(/Dockerfile\.bad:3:\d+: error: .*absolute/);
    expect(result.stderr).toMatch(/Dockerfile\.bad:4:\d+: error: .*port/);
    expect(result.stderr).toMatch(/CMD/);
  });

  it('refuses what only BuildKit builds, saying where (the classic builder of docker.io 20.10 must build the image)', () => {
    const bad = join(dir, 'Dockerfile.buildkit');
    writeFileSync(
      bad,
      [
        '# syntax=docker/dockerfile:1',
        'FROM --platform=$BUILDPLATFORM node:24-bookworm-slim AS build',
        'RUN --mount=type=cache,target=/root/.npm npm ci',
        'COPY --link --chmod=755 a /b',
        'RUN <<EOF',
        'echo hi',
        'EOF',
        'ADD --checksum=sha256:00 https://example.com/x /x',
        'COPY --from=build --chown=node:node /app /app',
        '',
      ].join('\n'),
    );
    const result = lint(bad);
    expect(result.status).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l.includes('BuildKit'));
    expect(lines.map((l) => /:(\d+):\d+: error: (\S+ \S+)/.exec(l)?.slice(1).join(' '))).toEqual([
      '1 parser directive',
      '2 FROM with',
      '3 RUN --mount:',
      '4 COPY --link:',
      '4 COPY --chmod:',
      '5 RUN with',
      '8 ADD --checksum:',
    ]);
  });

  it('fails on a missing file', () => {
    const result = lint(join(dir, 'nope'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cannot read/);
  });
});

describe('.dockerignore', () => {
  const ignore = parseDockerIgnore(readFileSync(resolve(REPO_ROOT, '.dockerignore'), 'utf8'));

  it('keeps local state, secrets and bulk out of the context', () => {
    for (const path of ['.env', '.env.local', 'node_modules/x/index.js', 'dist/main.js', '.git/HEAD', 'test/a.test.ts', 'coverage/x', 'dead-letters.jsonl', 'npm-debug.log', 'bench/results/x.json']) {
      expect(ignore.excludes(path), path).toBe(true);
    }
  });

  it('keeps what the Dockerfile copies (the image test builds from the same context)', () => {
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'proto/accelbyte/iam/account/v1/account.proto', 'actions/my-action.ts', 'rules.yaml', 'rules.schema.json']) {
      expect(ignore.excludes(path), path).toBe(false);
    }
  });
});

describe('docker-compose.yaml', () => {
  const compose = parse(readFileSync(resolve(REPO_ROOT, 'docker-compose.yaml'), 'utf8')) as {
    services: Record<string, { build?: string; env_file?: string; environment?: string[]; ports?: string[]; extra_hosts?: string[]; profiles?: string[]; image?: string }>;
  };

  it('app: built from ., .env, the two ports, Zipkin on the host', () => {
    const app = compose.services.app!;
    expect(app.build).toBe('.');
    expect(app.env_file).toBe('.env');
    expect(app.ports).toEqual(['6565:6565', '8080:8080']);
    expect(app.environment).toContain('OTEL_EXPORTER_ZIPKIN_ENDPOINT=http://host.docker.internal:9411/api/v2/spans');
    expect(app.extra_hosts).toEqual(['host.docker.internal:host-gateway']);
  });

  it('redis only under the "redis" profile', () => {
    expect(compose.services.redis!.profiles).toEqual(['redis']);
    expect(compose.services.redis!.image).toMatch(/^redis:/);
  });
});
