/**
 * The event handler process: wires catalog -> rules -> executor -> gRPC host,
 * plus telemetry, hot reload and graceful shutdown. Configuration comes from
 * the environment (see src/config.ts); the logic lives in the modules.
 */
import { FACT_OPERATIONS, factFetcher } from './ags/index.js';
import { setMaxListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configSecrets, loadConfig, readEnvironment } from './config.js';
import type { Config } from './config.js';
import { createLogger } from './telemetry/index.js';
import { redactText, registerSecret } from './telemetry/index.js';
import type { Logger } from './telemetry/index.js';
import { Metrics } from './telemetry/index.js';
import { startMetricsServer } from './telemetry/index.js';
import { startTracing } from './telemetry/index.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { loadCatalog } from './events/index.js';
import type { Catalog } from './events/index.js';
import { ActionModuleLoadError, InvalidActionModuleError, createAppRegistry } from './actions/index.js';
import type { ActionRegistry } from './actions/index.js';
import { loadRules, formatProblems } from './rules/index.js';
import type { RuleSet } from './rules/index.js';
import { watchRules } from './rules/index.js';
import { releaseRulesSchema } from './rules/index.js';
import { AgsClient, logUndiciFallback } from './ags/index.js';
import { createStateStore } from './store/index.js';
import type { StateStore } from './store/index.js';
import { JsonlDeadLetterSink } from './delivery/index.js';
import type { DeadLetterSink } from './delivery/index.js';
import { StoreDeadLetterSink } from './delivery/index.js';
import { createExecutor } from './delivery/index.js';
import type { Executor } from './delivery/index.js';
import { createEventHost } from './server/index.js';
import type { EventHost } from './server/index.js';
import { createEventHandler } from './pipeline/index.js';
import { reloadUnknownEventNote } from './rules/index.js';
import { testClock } from './time/index.js';
import { CONSUMER_SERVICE, SCHEDULER_SERVICE, configurePublisher, routeCustomEvents, wireServiceOf, withCustomEvents } from './custom-events/index.js';

export interface RunningApp {
  readonly port: number;
  readonly metricsPort?: number;
  /** Stop taking calls, finish those in flight (bounded by the grace period), release resources. */
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions {
  /** Environment to read. Default: `process.env` merged over `.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Registry of actions. Default: the built-ins. Pass your own to add custom actions. */
  readonly registry?: ActionRegistry;
  readonly logger?: Logger;
  /** Export spans here, synchronously, instead of the configured exporter (tests: an InMemorySpanExporter). Default: none. */
  readonly spanExporter?: SpanExporter;
  /** Players' ledgers of stateful rules. Default: an in-memory store. */
  readonly stateStore?: StateStore;
}

/**
 * Served services: every loaded one with EVENTS=all, else those the rules
 * target; and always Async Messaging's `onMessage` (a message of a subscribed
 * topic no rule listens on is answered OK and counted, never UNIMPLEMENTED).
 */
function servedServices(config: Config, catalog: Catalog, rules: RuleSet): Set<string> {
  if (config.serveAllEvents) return new Set(catalog.services.map((s) => s.fullName));
  return new Set([...[...rules.services].map(wireServiceOf), CONSUMER_SERVICE]);
}

/** What start-up has made so far, handed from one step to the next. */
interface Parts {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The rules that run now and the services served (a reload swaps the first and only adds to the second). */
interface Live {
  rules: RuleSet;
  served: Set<string>;
}

/**
 * Starts the event handler: configuration -> telemetry -> catalog, actions and rules -> AGS ->
 * state store and dead letters -> executor -> event handler and gRPC host -> metrics endpoint ->
 * rules watcher. Each step is one function below.
 * @throws {@link ConfigError} (every configuration problem at once), {@link StartupError}.
 */
export async function startApp(options: StartOptions = {}): Promise<RunningApp> {
  const config = loadConfig(options.env ?? readEnvironment());
  for (const secret of configSecrets(config)) registerSecret(secret);
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json') });
  logLiveRun(config, logger);
  logUndiciFallback(logger);
  const parts: Parts = { config, logger, metrics: new Metrics({ prefix: config.prometheus.prefix }) };
  const tracing = await startTracing({ ...tracingOptions(config), logger, ...(options.spanExporter ? { spanExporter: options.spanExporter } : {}) });
  const started = performance.now();
  configurePublisher({ port: config.publisherPort });
  const { catalog, registry, rulesFile, rules } = await loadCatalogAndRules(parts, options);
  logDryRun(config, logger);
  const ags = await connectAgs(parts);
  const { store, deadLetters } = await openStore(parts, ags);
  const stops = { shutdown: new AbortController(), hardStop: new AbortController() };
  // every AGS request in flight listens to it (one listener each, removed when it ends): no max
  setMaxListeners(0, stops.hardStop.signal);
  const executor = createExecutor({
    shutdownSignal: stops.shutdown.signal,
    hardStopSignal: stops.hardStop.signal,
    registry,
    store,
    deadLetters,
    logger,
    metrics: parts.metrics,
    ...(ags ? { ags } : {}),
    dryRun: config.dryRun,
    namespace: config.ags.namespace,
    eventDeadlineMs: config.eventDeadlineMs,
    retentionMs: config.dedupeRetentionMs,
    leaseMs: config.dedupeLeaseMs,
    breaker: config.breaker,
  });
  // one store for idempotency and the players' ledgers of stateful rules
  const stateStore = options.stateStore ?? store;
  const live: Live = { rules, served: servedServices(config, catalog, rules) };
  const host = createEventHost({
    catalog,
    served: live.served,
    onEvent: eventRoute(parts, live, { executor, stateStore, ags }),
    // the rules in force, read per call; the two custom-event wire services are routed on fields of their own
    decidedOn: (service) => (service.fullName === CONSUMER_SERVICE || service.fullName === SCHEDULER_SERVICE ? undefined : live.rules.decidedOn(service.fullName)),
    logger,
    metrics: parts.metrics,
    reflection: config.reflection,
    health: config.health,
    port: config.port,
    limits: config.grpc,
  });
  const { port } = await host.start();
  const metricsServer = config.prometheus.enabled ? await startMetricsServer({ metrics: parts.metrics, port: config.prometheus.port, path: config.prometheus.path }) : undefined;
  const watcher = config.rulesWatch ? watchRulesFile(parts, live, { rulesFile, catalog, registry, host }) : undefined;
  host.setServing(true);
  logger.info(
    {
      port,
      metricsPort: metricsServer?.port,
      events: [...live.served],
      ...(watcher ? { watching: watcher.directories() } : {}),
      rules: live.rules.ruleCount,
      protoFiles: catalog.files.length,
      tracing: tracing.enabled ? config.tracing.exporter : 'off',
      store: store.kind,
      startupMs: Math.round(performance.now() - started),
    },
    `serving ${live.served.size} events on :${port}`,
  );
  if (catalog.skipped.length > 0) {
    logger.info({ skipped: catalog.skipped }, `not served (not events): ${catalog.skipped.map((s) => `${s.path} (${s.reason})`).join('; ')}`);
  }
  // the deferred done marks are written before the store closes
  const close = () => executor.flush().then(() => Promise.allSettled([store.close(), ...(stateStore !== store ? [stateStore.close()] : []), deadLetters.close(), metricsServer?.close(), tracing.shutdown()]));
  return { port, ...(metricsServer ? { metricsPort: metricsServer.port } : {}), shutdown: shutdownOf(parts, { host, watcher, stops, close }) };
}

/** The first line of a live run: where it acts and where its marks live. */
function logLiveRun(config: Config, logger: Logger): void {
  if (config.dryRun) return;
  logger.info(
    { live: true, namespace: config.ags.namespace, store: config.stateStore, baseUrl: config.ags.baseUrl },
    `live run: namespace ${config.ags.namespace}, state store ${config.stateStore}, AGS at ${config.ags.baseUrl}`,
  );
}

function logDryRun(config: Config, logger: Logger): void {
  if (!config.dryRun) return;
  logger.warn(
    { dryRun: true, reason: config.dryRunReason, demoEnv: config.demoEnv },
    `DRY RUN: ${config.dryRunReason ?? ''}; actions are planned and logged, nothing is sent to AGS` +
      (config.demoEnv.length ? ` (demo values: ${config.demoEnv.join(', ')})` : ''),
  );
}

function tracingOptions(config: Config) {
  const { exporter, serviceName, zipkinEndpoint, otlpEndpoint } = config.tracing;
  return { exporter, serviceName, zipkinEndpoint, otlpEndpoint };
}

/** The event catalog (protos and custom events), the actions (built-in and ACTIONS_DIR's), the rules file compiled against them. */
async function loadCatalogAndRules({ config, logger }: Parts, options: StartOptions) {
  const catalog = withCustomEvents(await loadCatalog({ dirs: config.protoDirs.map((d) => resolve(d)), keepRoot: false }));
  let registry: ActionRegistry;
  try {
    registry = options.registry ?? (await createAppRegistry(resolve(config.actionsDir)));
  } catch (error) {
    if (error instanceof ActionModuleLoadError || error instanceof InvalidActionModuleError) throw new StartupError(error.message);
    throw error;
  }
  const rulesFile = resolve(config.rulesFile);
  const loaded = await loadRules({ file: rulesFile, catalog, registry, env: config.rulesEnv, unsetEnv: 'error', facts: FACT_OPERATIONS });
  for (const w of loaded.warnings) logger.warn({ problem: w }, formatProblems([w], 'text'));
  if (!loaded.ok) {
    throw new StartupError(`${rulesFile} is invalid:\n${formatProblems(loaded.problems, 'text')}`);
  }
  return { catalog, registry, rulesFile, rules: loaded.rules };
}

/** The AGS client of a live run, logged in (fail fast, as the templates do); none in dry run. */
async function connectAgs({ config, logger, metrics }: Parts): Promise<AgsClient | undefined> {
  if (config.dryRun) return undefined;
  const ags = new AgsClient({
    baseUrl: config.ags.baseUrl,
    clientId: config.ags.clientId,
    clientSecret: config.ags.clientSecret,
    timeoutMs: config.ags.timeoutMs,
    maxAttempts: config.ags.maxAttempts,
    maxInFlightPerService: config.ags.maxInFlight,
    queueWaitMs: config.ags.queueWaitMs,
    // no AGS call (its retries and login waits included) outlives one event's budget
    deadlineMs: config.eventDeadlineMs,
    logger,
    metrics,
  });
  await ags.login();
  logger.info({ baseUrl: config.ags.baseUrl }, 'logged in to AGS');
  return ags;
}

/** A clock in ms since the epoch. */
function msOf(clock: () => Date): () => number {
  return () => clock().getTime();
}

/** The state store and where dead letters go: memory -> the JSONL file (checked writable now); cloudsave/redis -> the store, shared and durable. */
async function openStore({ config, logger, metrics }: Parts, ags: AgsClient | undefined): Promise<{ store: StateStore; deadLetters: DeadLetterSink }> {
  let store: StateStore;
  try {
    store = await createStateStore({
      kind: config.stateStore,
      live: !config.dryRun,
      ...(ags ? { ags } : {}),
      namespace: config.ags.namespace,
      ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
      connectTimeoutMs: config.redisConnectTimeoutMs,
      maxPartitions: config.dedupeMaxKeys,
      maxBytes: config.dedupeMaxBytes,
      logger,
    });
  } catch (error) {
    throw new StartupError(error instanceof Error ? error.message : String(error));
  }
  if (store.kind !== 'memory') {
    const deadLetters = new StoreDeadLetterSink({
      store,
      namespace: config.ags.namespace,
      retentionMs: config.deadLetterRetentionMs,
      capacity: config.deadLetterCapacity,
      logger,
      metrics,
      ...(config.testClockFile ? { now: msOf(testClock(config.testClockFile)) } : {}),
    });
    return { store, deadLetters };
  }
  const file = new JsonlDeadLetterSink({ path: resolve(config.deadLetterFile) });
  try {
    await file.check();
  } catch (error) {
    await store.close();
    throw new StartupError(`DEAD_LETTER_FILE: ${error instanceof Error ? error.message : String(error)}: set it to a writable path`);
  }
  return { store, deadLetters: file };
}

/** The event handler over the rules that run now, behind the router of topics and scheduled tasks (`topic:NAME`, `schedule:TASK`). */
function eventRoute({ config, logger, metrics }: Parts, live: Live, deps: { executor: Executor; stateStore: StateStore; ags: AgsClient | undefined }) {
  const { executor, stateStore, ags } = deps;
  const handleEvent = createEventHandler({
    rules: () => live.rules,
    executor,
    logger,
    metrics,
    logPayloads: config.logPayloads,
    stateStore,
    namespace: config.ags.namespace,
    stateRetentionMs: config.dedupeRetentionMs,
    ...(ags ? { fetchFacts: factFetcher((op) => ags.request(op), config.ags.namespace) } : {}),
    ...(config.testClockFile ? { now: testClock(config.testClockFile) } : {}),
  });
  return routeCustomEvents(handleEvent, { listenedOn: () => live.rules.services, logger, metrics });
}

/** Reloads the rules file on change (RULES_WATCH): a valid file is swapped in, an invalid one logged and the running rules kept. */
function watchRulesFile({ config, logger, metrics }: Parts, live: Live, at: { rulesFile: string; catalog: Catalog; registry: ActionRegistry; host: EventHost }) {
  const { rulesFile, catalog, registry, host } = at;
  return watchRules({
    file: rulesFile,
    catalog,
    registry,
    env: config.rulesEnv,
    unsetEnv: 'error',
    facts: FACT_OPERATIONS,
    onReload: (result) => {
      if (!result.ok) {
        metrics.rulesReloads.inc({ result: 'rejected' });
        const note = reloadUnknownEventNote(result.problems);
        logger.error({ problems: result.problems, ...(note ? { note } : {}) }, `rules reload rejected, the previous rules keep running:\n${formatProblems(result.problems, 'text')}${note ? `\n${note}` : ''}`);
        return;
      }
      live.rules = result.rules;
      // a reload adds events, never removes one: an event served once answers OK (no match) rather than UNIMPLEMENTED, which the sidecar does not retry
      live.served = new Set([...live.served, ...servedServices(config, catalog, live.rules)]);
      host.setServed(live.served);
      metrics.rulesReloads.inc({ result: 'ok' });
      logger.info({ rules: live.rules.ruleCount, events: live.rules.services.size }, 'rules reloaded');
    },
  });
}

/** Graceful shutdown, once: stop taking calls, let those in flight finish within SHUTDOWN_GRACE_MS, then cancel them and release everything. */
function shutdownOf(
  { config, logger }: Parts,
  parts: { host: EventHost; watcher: { close(): void } | undefined; stops: { shutdown: AbortController; hardStop: AbortController }; close: () => Promise<unknown> },
): (reason: string) => Promise<void> {
  const { host, watcher, stops, close } = parts;
  let stopping: Promise<void> | undefined;
  return (reason) => {
    stopping ??= (async () => {
      logger.info({ reason, graceMs: config.shutdownGraceMs }, 'shutting down: finishing calls in flight');
      watcher?.close();
      // At the end of the grace period, calls still running are cancelled and the AGS requests
      // they have in flight aborted; the host then gives them time to record their outcome.
      const hardStop = setTimeout(() => stops.hardStop.abort(new Error('shutdown grace period over')), config.shutdownGraceMs);
      await host.shutdown(config.shutdownGraceMs);
      clearTimeout(hardStop);
      stops.shutdown.abort(new Error('shutdown'));
      stops.hardStop.abort(new Error('shutdown'));
      await close();
      logger.info('stopped');
      logger.flush();
    })();
    return stopping;
  };
}

/** Start-up failed for a reason the user must fix (printed without a stack). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * V8 flags of the server process, set before anything is compiled with them.
 *
 * `--wasm-tiering-budget=100000000` (V8's default: 1,800,000): the only WebAssembly in the process
 * is undici's HTTP/1.1 parser (llhttp), compiled at the first AGS request (the login at start-up).
 * With the default budget that one request makes it hot: its optimising (TurboFan) compile runs on
 * a background thread right after and takes about 30 MiB of native memory for 0.2 s, which was the
 * process's peak RSS when no rule matches (138 vs 110 MiB at start-up) and about 0.2 s of CPU. With
 * this budget it is optimised once it has parsed roughly 50 AGS answers (an estimate from the
 * default budget being spent by the login alone): a process that grants keeps the
 * optimised parser (baseline code for every answer, `--liftoff-only`, was measured 4% more CPU per
 * granted event), one that only logs in never pays for it. Only WebAssembly is affected; an
 * embedder calling {@link startApp} keeps its own flags.
 */
export function setServerFlags(): void {
  setFlagsFromString('--wasm-tiering-budget=100000000');
}

/** Runs the server until SIGTERM/SIGINT. Returns the exit code. */
export async function runServer(): Promise<number> {
  setServerFlags();
  let app: RunningApp;
  try {
    app = await startApp();
  } catch (error) {
    // an AGS login error may carry what IAM echoed back (the Basic credential): redacted like any output
    const message = redactText(error instanceof Error ? error.message : String(error));
    process.stderr.write(`extend-event-rules: cannot start: ${message}\n`);
    return 1;
  }
  // loaded: the compiled rules-file schema is needed again only by a reload (which compiles it anew)
  releaseRulesSchema();
  return await new Promise<number>((resolveExit) => {
    const stop = (signal: string) => {
      app.shutdown(signal).then(
        () => resolveExit(0),
        () => resolveExit(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runServer().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}
