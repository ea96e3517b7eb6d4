/**
 * Issue 27, a rule author's first hour: the README's loop is `make
 * check-rules` (validate, rule tests, schema; built only when stale, so
 * seconds), it says honestly how long `npm test` takes, how to get a
 * reflection client (grpcurl's release binary, or the product's `send`), and
 * points to the observability walkthrough (Grafana :3000, Envoy :10000),
 * which docs/observability.md has, step by step.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/prereq.js';

const read = (f: string): string => readFileSync(resolve(REPO_ROOT, f), 'utf8');

describe("the README's loop and the tools agree", () => {
  it('the quick start names make check-rules and the duration of npm test', () => {
    const readme = read('README.md');
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('Without AGS credentials'));
    expect(quick).toMatch(/make check-rules +# your rules: validate, rules\.test\.yaml, rules\.schema\.json up to date \(seconds\)/);
    expect(quick).toMatch(/`npm test` is the product's own suite[^.]*: about [^.]*minutes[^.]*2-core machine \(measured/);
    expect(quick).toMatch(/`npm start` builds only when\s+a file of `src\/` or `actions\/` changed since the last build/);
    expect(quick).toMatch(/LOG_FORMAT=json/);
  });

  it("the quick start's npm ci prints no install-scripts advisory: every dependency with an install script is reviewed in allowScripts", () => {
    // npm 11.16+ ends `npm ci` with "1 package has install scripts not yet covered by allowScripts" otherwise (npm 12 blocks them)
    const pkg = JSON.parse(read('package.json')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => pkg.allowScripts?.[name] === undefined)).toEqual([]);
  });

  it('make check-rules and npm run check-rules build only when stale, then validate, test and check the schema', () => {
    const make = read('Makefile');
    const target = make.slice(make.indexOf('\ncheck-rules:'), make.indexOf('\n\n', make.indexOf('\ncheck-rules:')));
    expect(target.split('\n').slice(2).map((l) => l.trim())).toEqual(['node scripts/build-if-stale.mjs', 'node dist/cli/index.js validate', 'node dist/cli/index.js test', 'node dist/cli/index.js schema --check']);
    expect(target).not.toMatch(/npm run build|npm test/);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['check-rules']).toBe('node scripts/build-if-stale.mjs && node dist/cli/index.js validate && node dist/cli/index.js test && node dist/cli/index.js schema --check');
  });

  it('a reflection client: grpcurl from its releases, or send; and the way to the observability walkthrough', () => {
    const readme = read('README.md');
    expect(readme).toMatch(/grpcurl is not packaged\s+by Debian: take its release binary from\s+https:\/\/github\.com\/fullstorydev\/grpcurl\/releases; the product's own `send`\s+and `samples` do the same, and Postman works/);
    expect(readme).toMatch(/grpcurl -plaintext -d "\$\(npx extend-event-rules samples userLoggedIn\)" \\\n {2}localhost:6565 accelbyte\.iam\.account\.v1\.UserAuthenticationUserLoggedInService\/OnMessage/);
    expect(readme).toMatch(/\(`:3000`\)[^.]*Envoy on\s+`:10000`\), follow \[Test observability\]\(docs\/observability\.md#test-observability-one-event-step-by-step\)/);
  });

  it('docs/observability.md walks through one event: the stack, Loki, the app, an event, its logs, metrics and trace', () => {
    const doc = read('docs/observability.md');
    const walk = doc.slice(doc.indexOf('## Test observability: one event, step by step'));
    expect(walk.length).toBeGreaterThan(1000);
    for (const step of [
      /1\. Start the stack: clone grpc-plugin-dependencies/,
      /docker plugin install grafana\/loki-docker-driver:latest --alias loki --grant-all-permissions/,
      /3\. Start the app: `docker compose up --build`/,
      /4\. Send one event: `npx extend-event-rules send userLoggedIn/,
      /Grafana on `http:\/\/localhost:3000`/,
      /\*\*Logs\*\*/,
      /\*\*Metrics\*\*/,
      /event_rules_actions_total\{rule="grant-item-on-login",action="grantItem",outcome="planned"\} 1/,
      /\*\*Trace\*\*/,
    ]) {
      expect(walk).toMatch(step);
    }
    // the loki block the walkthrough uncomments is in docker-compose.yaml
    expect(read('docker-compose.yaml')).toMatch(/# logging:\n\s+# {3}driver: loki\n[\s\S]*loki-url: http:\/\/host\.docker\.internal:3100\/loki\/api\/v1\/push/);
  });
});
