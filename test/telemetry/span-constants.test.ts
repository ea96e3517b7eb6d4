/**
 * src/telemetry/tracing.ts keeps the OpenTelemetry API's SpanKind and SpanStatusCode values as
 * constants, so that a command making no span does not load the API: they must be the API's.
 */
import * as api from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode } from '../../src/telemetry/index.js';

/** The names and values of a TypeScript numeric enum (without its reverse mapping). */
function members(e: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(e).filter(([k]) => !/^\d+$/.test(k)));
}

describe("the API's span constants, without the API", () => {
  it('SpanKind has every member of the API, with its value', () => {
    expect(SpanKind).toEqual(members(api.SpanKind));
  });

  it('SpanStatusCode has every member of the API, with its value', () => {
    expect(SpanStatusCode).toEqual(members(api.SpanStatusCode));
  });
});
