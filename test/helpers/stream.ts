/**
 * Server-streaming calls from a test: every message until the server ends the stream.
 */
import type { Client } from '@grpc/grpc-js';

export function collectStream<T = any>(client: Client, method: string, request: object, timeoutMs = 30_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const call = (client as any)[method](request, { deadline: Date.now() + timeoutMs });
    const messages: T[] = [];
    call.on('data', (m: T) => messages.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(messages));
  });
}
