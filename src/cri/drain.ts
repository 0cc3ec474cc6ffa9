/**
 * Graceful stop for SIGTERM/SIGINT: once draining, new unary calls are refused with
 * UNAVAILABLE (the kubelet retries them on the next shim), and the stop waits for the
 * unary calls already in flight (a RunPodSandbox half-way through its steps) to finish
 * or roll back, up to a bound. Server streams (events, stats) never end by themselves
 * and are not waited for.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { UnavailableError } from '../errors.js';
import type { Handlers, UnaryHandler } from './instrument.js';
import { serviceMethods } from './service-methods.js';

export class CallDrain {
  private inFlight = 0;
  private draining = false;
  private readonly idleWaiters: Array<() => void> = [];

  /** The unary handlers of `service` counted and refused once draining; streams as they are. */
  wrap(service: ServiceDefinition, handlers: Handlers): Handlers {
    const out: Handlers = { ...handlers };
    for (const { method, streaming } of serviceMethods(service)) {
      const handler = handlers[method];
      if (handler && !streaming) out[method] = this.counted(handler as UnaryHandler);
    }
    return out;
  }

  /**
   * Counts the call until its handler settles. The reply is written by the
   * instrumentation layer a few microtasks later; CriServer.stop waits a flush period
   * after the drain for exactly that, so the count need not follow the reply itself.
   */
  private counted(handler: UnaryHandler): UnaryHandler {
    return async (request, ctx) => {
      if (this.draining) throw new UnavailableError('cri-shim is shutting down; retry against the next instance');
      this.inFlight++;
      try {
        return await handler(request, ctx);
      } finally {
        this.inFlight--;
        if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      }
    };
  }

  get pending(): number {
    return this.inFlight;
  }

  /** Refuses new calls from now on; resolves with how many calls were still running after `graceMs`. */
  async drain(graceMs: number): Promise<number> {
    this.draining = true;
    if (this.inFlight === 0) return 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.inFlight;
  }
}
