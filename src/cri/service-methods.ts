/**
 * The walk over a grpc-js service definition that both the instrumentation layer and
 * the drain make: every method, and whether it is server-streaming (the drain counts
 * only unary calls; the instrumentation wraps the two kinds differently).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

export interface ServiceMethod {
  method: string;
  def: MethodDefinition<any, any>;
  streaming: boolean;
}

export function serviceMethods(service: ServiceDefinition): ServiceMethod[] {
  return Object.entries(service).map(([method, def]) => ({ method, def, streaming: def.responseStream }));
}
