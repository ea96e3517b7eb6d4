/**
 * `grpc.health.v1.Health` through grpc-health-check: an overall status (service
 * name '') and one per served service. Everything starts NOT_SERVING; the host
 * flips to SERVING when the app is ready and back when shutdown begins.
 */
import { HealthImplementation } from 'grpc-health-check';
import type { Server } from '@grpc/grpc-js';

export class HealthStatus {
  private readonly impl = new HealthImplementation({ '': 'NOT_SERVING' });
  private serving = false;
  private services = new Set<string>();

  /** Adds the Health service to a grpc-js server. */
  addToServer(server: Server): void {
    this.impl.addToServer(server);
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
