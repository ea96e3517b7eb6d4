/**
 * Who may read which environment variable from a rule (`${env.X}`):
 * - the AGS client's own credentials and the store's URL (which carries its
 *   password) never: a rule reading them is a load error (`forbidden-env`);
 * - secret-looking variables (see `isSecretEnvName`: SECRET, TOKEN, KEY,
 *   WEBHOOK...) may be used anywhere (an `http` header, URL or body) and their
 *   values are registered for redaction: never displayed (logs, plans, dead
 *   letters, CLI output);
 * - any other variable is plain configuration.
 */
import { isSecretEnvName, registerSecret } from '../telemetry/index.js';

/** Variables no rule may read: the AGS client's credentials and connection strings with passwords. */
export const CREDENTIAL_ENV_VARS: readonly string[] = ['AB_CLIENT_ID', 'AB_CLIENT_SECRET', 'REDIS_URL', 'OTEL_EXPORTER_OTLP_HEADERS'];

/**
 * What the trace exporters read themselves and may carry a credential: OTLP headers and endpoints, the general
 * ones and the signal-specific ones (`OTEL_EXPORTER_OTLP_TRACES_HEADERS`, read by the OTLP exporter beside
 * `OTEL_EXPORTER_OTLP_HEADERS`), and the Zipkin endpoint (a token in its userinfo).
 */
export const EXPORTER_CREDENTIAL_ENV = /^OTEL_EXPORTER_(?:OTLP_(?:[A-Z]+_)?(?:HEADERS|ENDPOINT)|ZIPKIN_ENDPOINT)$/;

/** Why a rule may not read `name`, or undefined when it may. */
export function forbiddenEnvReason(name: string): string | undefined {
  if (CREDENTIAL_ENV_VARS.includes(name) || name.startsWith('AB_CLIENT_') || EXPORTER_CREDENTIAL_ENV.test(name)) {
    return `\${env.${name}} is a credential of the app itself: rules cannot read it`;
  }
  return undefined;
}

/** The fix shown with {@link forbiddenEnvReason}. */
export const FORBIDDEN_ENV_FIX =
  'AGS calls are authenticated by the app (AB_CLIENT_ID/AB_CLIENT_SECRET): actions need no credential; for a webhook, put its own secret in a variable of its own, e.g. ${env.WEBHOOK_TOKEN}';

/** Called with each value a rule reads: secret-looking variables are registered for redaction. */
export function noteEnvRead(name: string, value: string): void {
  if (isSecretEnvName(name)) registerSecret(value);
}
