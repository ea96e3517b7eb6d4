/**
 * An `http` action's URL is shown as `origin/[redacted]` (a Discord or Slack webhook URL is its own credential):
 * also when it does not parse, in the load error `validate` and the start-up print (`HOOK_URL` set without its
 * scheme, a port out of range), which showed it whole.
 */
import { describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../src/actions/builtins/index.js';
import { silentLogger } from '../../src/telemetry/logger.js';

const http = createDefaultRegistry().get('http')!;

function problem(url: string): string {
  try {
    http.normalize({ url, body: { a: 1 } }, { logger: silentLogger() } as never);
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

describe('an http URL that does not parse is not shown whole', () => {
  it.each([
    ['no scheme', 'discord.com/api/webhooks/123/SECRETPATH4711', 'discord.com/[redacted]'],
    ['a port out of range', 'https://discord.com:99999/api/webhooks/123/SECRETPATH4711', 'https://discord.com:99999/[redacted]'],
    ['credentials in the authority', 'https://user:SECRETPATH4711@hooks.example:99999/x', 'https://hooks.example:99999/[redacted]'],
    ['a query only', 'hooks.example?token=SECRETPATH4711', 'hooks.example/[redacted]'],
  ])('%s', (_what, url, shown) => {
    const message = problem(url);
    expect(message).toMatch(/is not an absolute URL/);
    expect(message).not.toContain('SECRETPATH4711');
    expect(message).toContain(`"${shown}"`);
  });

  it('a text with nothing to hide is shown as written', () => {
    expect(problem('hooks.example')).toContain('"hooks.example" is not an absolute URL');
  });
});
