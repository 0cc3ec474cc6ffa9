/**
 * Our RuntimeService and ImageService have exactly the 41 RPCs of cri-api
 * v0.36.3, with the same request/response types and streaming, both in the
 * proto and in the grpc-js service definitions the server registers.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { loadCriPackage } from '../../../src/cri/proto.js';
import { PKG, SERVICES, root } from './fixtures.js';

type Row = [service: string, rpc: string, request: string, response: string, serverStreaming: boolean];

const expected: Row[] = Object.entries(SERVICES.services).flatMap(([svc, rpcs]) =>
  rpcs.map((r): Row => [svc, r.name, r.request, r.response, r.server_streaming]),
);

describe('services', () => {
  it('SERVICES.json is for runtime.v1 and lists 41 RPCs', () => {
    expect(SERVICES.package).toBe(PKG);
    expect(expected).toHaveLength(41);
  });

  it('our proto declares exactly these services and RPCs', () => {
    const services = (root.lookup(PKG) as protobuf.Namespace).nestedArray.filter(
      (o): o is protobuf.Service => o instanceof protobuf.Service,
    );
    const ours: Row[] = services.flatMap((svc) =>
        svc.methodsArray.map((m): Row => {
          expect(m.requestStream ?? false, `${svc.name}.${m.name} must not stream requests`).toBe(false);
          return [svc.name, m.name, m.requestType, m.responseType, m.responseStream ?? false];
        }),
      );
    const key = (r: Row): string => `${r[0]}/${r[1]}`;
    expect(ours.map(key).sort(), 'RPC names').toEqual(expected.map(key).sort());
    const byKey = new Map(ours.map((r) => [key(r), r]));
    for (const row of expected) expect(byKey.get(key(row)), `${key(row)}: [service, rpc, request, response, server_streaming]`).toEqual(row);
  });

  it.each(expected)('grpc-js definition of %s/%s', (svc, rpc, request, response, serverStreaming) => {
    const v1 = loadCriPackage().runtime.v1;
    const def = (svc === 'RuntimeService' ? v1.RuntimeService : v1.ImageService).service as unknown as Record<
      string,
      { path: string; requestStream: boolean; responseStream: boolean; requestType: { type: { name: string } }; responseType: { type: { name: string } } }
    >;
    const m = def[rpc];
    expect(m, `${svc}.${rpc} in the grpc-js service definition`).toBeDefined();
    expect(m.path).toBe(`/${PKG}.${svc}/${rpc}`);
    expect([m.requestType.type.name, m.responseType.type.name]).toEqual([request, response]);
    expect([m.requestStream, m.responseStream]).toEqual([false, serverStreaming]);
  });

  it('the grpc-js definitions have no RPC beyond SERVICES.json', () => {
    const v1 = loadCriPackage().runtime.v1;
    for (const [svc, def] of [['RuntimeService', v1.RuntimeService.service], ['ImageService', v1.ImageService.service]] as const) {
      expect(Object.keys(def).sort(), svc).toEqual(SERVICES.services[svc]!.map((r) => r.name).sort());
    }
  });
});
