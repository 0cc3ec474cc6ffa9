/**
 * The one instrumentation layer every RPC goes through: it turns a plain
 * `async (request, ctx) => response` into a grpc-js handler, logs one line per call
 * with duration and the ids the request carries, and maps thrown errors to a gRPC
 * status. grpc-js does not catch a rejected promise from a handler (it would become
 * an unhandledRejection and kill the shim), so nothing escapes from here.
 */
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
  ServiceDefinition,
} from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../logger.js';
import { toGrpcFailure } from './status-codes.js';
import { UnimplementedError } from '../errors.js';
import { withEnumCheck } from './validate-enums.js';
import { serviceMethods } from './service-methods.js';
import { boundedLogIds } from './log-ids.js';

export interface CallContext {
  logger: Logger;
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
}

export type UnaryHandler<Req = any, Res = any> = (request: Req, ctx: CallContext) => Promise<Res>;
/** A server-streaming handler writes to `stream` and resolves when it is done. */
export type StreamHandler<Req = any, Res = any> = (
  request: Req,
  stream: { write(msg: Res): boolean },
  ctx: CallContext,
) => Promise<void>;

export type Handlers = Record<string, UnaryHandler | StreamHandler>;

/** Told about every finished call (`Service/Method`, gRPC code name, seconds), e.g. by the metrics. */
export type RpcObserver = (rpc: string, code: string, seconds: number) => void;

/** Request fields worth a place on the log line; the kubelet correlates by these. */
const ID_FIELDS = ['pod_sandbox_id', 'container_id'] as const;

function idsOf(request: any): Record<string, string> {
  const ids: Record<string, string> = {};
  if (!request || typeof request !== 'object') return ids;
  for (const f of ID_FIELDS) if (typeof request[f] === 'string' && request[f]) ids[f] = request[f];
  const meta = request.config?.metadata;
  if (meta?.name) ids.name = meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
  const image = request.image?.image;
  if (typeof image === 'string' && image) ids.image = image;
  return boundedLogIds(ids);
}

/** The call's signal, and a `done` that drops its deadline timer once the call settles. */
function abortSignalFor(call: { on(ev: 'cancelled', cb: () => void): unknown; getDeadline(): Date | number }): {
  signal: AbortSignal;
  done: () => void;
} {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort(new Error('call cancelled')));
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : deadline - Date.now();
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(ms) && ms < 2 ** 31) {
    timer = setTimeout(() => controller.abort(new Error('deadline exceeded')), Math.max(0, ms));
    timer.unref();
  }
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

export function wrapUnary(rpc: string, handler: UnaryHandler, base: Logger, observe?: RpcObserver): handleUnaryCall<any, any> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const logger = base.child({ rpc, ...idsOf(call.request) });
    const abort = abortSignalFor(call);
    const ctx: CallContext = { logger, signal: abort.signal };
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    Promise.resolve()
      .then(() => handler(call.request, ctx))
      .finally(abort.done)
      .then(
        (response) => {
          logger.info({ ms: elapsed() }, 'ok');
          observe?.(rpc, 'OK', elapsed() / 1e3);
          callback(null, response);
        },
        (err: unknown) => {
          const failure = toGrpcFailure(err);
          const level = failure.code === GrpcStatus.INTERNAL ? 'error' : 'info';
          logger[level]({ ms: elapsed(), code: GrpcStatus[failure.code], err: failure.details }, 'failed');
          observe?.(rpc, GrpcStatus[failure.code], elapsed() / 1e3);
          callback({ code: failure.code, details: failure.details });
        },
      );
  };
}

export function wrapServerStream(rpc: string, handler: StreamHandler, base: Logger, observe?: RpcObserver): handleServerStreamingCall<any, any> {
  return (call: ServerWritableStream<any, any>) => {
    const started = process.hrtime.bigint();
    const logger = base.child({ rpc, ...idsOf(call.request) });
    const abort = abortSignalFor(call);
    const ctx: CallContext = { logger, signal: abort.signal };
    Promise.resolve()
      .then(() => handler(call.request, { write: (m) => call.write(m) }, ctx))
      .finally(abort.done)
      .then(
        () => {
          logger.info({ ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'stream ended');
          observe?.(rpc, 'OK', Number(process.hrtime.bigint() - started) / 1e9);
          if (!call.cancelled) call.end();
        },
        (err: unknown) => {
          const failure = toGrpcFailure(err);
          logger.info({ code: GrpcStatus[failure.code], err: failure.details }, 'stream failed');
          observe?.(rpc, GrpcStatus[failure.code], Number(process.hrtime.bigint() - started) / 1e9);
          if (!call.cancelled) call.emit('error', { code: failure.code, details: failure.details });
        },
      );
  };
}

/**
 * Builds a complete grpc-js implementation for `service`: the RPCs we have go
 * through the wrappers, every other one answers UNIMPLEMENTED naming itself, which
 * is the only code on which the kubelet falls back.
 */
export function implementService(
  serviceName: string,
  service: ServiceDefinition,
  handlers: Handlers,
  logger: Logger,
  observe?: RpcObserver,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const { method, def, streaming } of serviceMethods(service)) {
    // Unknown enum values are refused for every RPC here, before the handler (validate-enums.ts).
    const handler = handlers[method] && withEnumCheck(def, handlers[method]);
    const rpc = `${serviceName}/${method}`;
    if (streaming) {
      impl[method] = handler
        ? wrapServerStream(rpc, handler as StreamHandler, logger, observe)
        : (call: ServerWritableStream<any, any>) =>
            call.emit('error', { code: GrpcStatus.UNIMPLEMENTED, details: `${method} is not implemented by cri-shim` });
    } else {
      impl[method] = wrapUnary(
        rpc,
        handler
          ? (handler as UnaryHandler)
          : async () => {
              throw new UnimplementedError(`${method} is not implemented by cri-shim`);
            },
        logger,
        observe,
      );
    }
  }
  return impl;
}
