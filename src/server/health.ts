/**
 * `grpc.health.v1.Health` through grpc-health-check: an overall status (service
 * name '') and one per served service. Everything starts NOT_SERVING; the host
 * flips to SERVING when the app is ready and back when shutdown begins.
 * Watch streams never end by themselves: {@link endWatches} ends them (with OK)
 * at shutdown, else grpc-js's graceful shutdown waits for them until the grace
 * period is over.
 */
import { HealthImplementation } from 'grpc-health-check';
import type { Server, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';

type WatchCall = ServerWritableStream<unknown, unknown>;

export class HealthStatus {
  private readonly impl = new HealthImplementation({ '': 'NOT_SERVING' });
  private serving = false;
  private services = new Set<string>();
  private readonly watches = new Set<WatchCall>();
  private ended = false;

  /** Adds the Health service to a grpc-js server, its Watch calls tracked so that {@link endWatches} can end them. */
  addToServer(server: Server): void {
    const watches = this.watches;
    const isEnded = (): boolean => this.ended;
    const tracking = {
      addService(definition: Parameters<Server['addService']>[0], implementation: UntypedServiceImplementation): void {
        const watch = implementation.watch as (call: WatchCall) => void;
        server.addService(definition, {
          ...implementation,
          watch: (call: WatchCall) => {
            watch(call); // writes the current status first
            if (isEnded()) {
              call.end();
              return;
            }
            watches.add(call);
            call.on('cancelled', () => watches.delete(call));
          },
        });
      },
    };
    this.impl.addToServer(tracking);
  }

  /** Ends every Watch stream (after the statuses already written) and those opened from now on. */
  endWatches(): void {
    this.ended = true;
    for (const call of this.watches) call.end();
    this.watches.clear();
  }

  /** Whether the app as a whole is serving. */
  get isServing(): boolean {
    return this.serving;
  }

  /** Overall and per-service status: SERVING or NOT_SERVING. */
  setServing(serving: boolean): void {
    this.serving = serving;
    const value = serving ? 'SERVING' : 'NOT_SERVING';
    this.impl.setStatus('', value);
    for (const name of this.services) this.impl.setStatus(name, value);
  }

  /**
   * The services with a status of their own. Services no longer served report
   * NOT_SERVING (grpc-health-check cannot forget a service).
   */
  setServices(names: Iterable<string>): void {
    const next = new Set(names);
    for (const name of this.services) if (!next.has(name)) this.impl.setStatus(name, 'NOT_SERVING');
    this.services = next;
    const value = this.serving ? 'SERVING' : 'NOT_SERVING';
    for (const name of next) this.impl.setStatus(name, value);
  }
}
