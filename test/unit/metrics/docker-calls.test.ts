import { describe, expect, it } from 'vitest';
import { dockerOperation } from '../../../src/metrics/docker-calls.js';

describe('dockerOperation', () => {
  it.each([
    ['POST', '/containers/create?', 'POST /containers/create'],
    ['GET', '/containers/json?', 'GET /containers/json'],
    ['GET', '/containers/3f2a9c/json?size=1', 'GET /containers/{id}/json'],
    ['POST', '/containers/3f2a9c/start?', 'POST /containers/{id}/start'],
    ['DELETE', '/containers/3f2a9c?force=true', 'DELETE /containers/{id}'],
    ['GET', '/containers/3f2a9c/attach/ws', 'GET /containers/{id}/attach/ws'],
    ['POST', '/exec/77ab/start', 'POST /exec/{id}/start'],
    ['POST', '/images/create?fromImage=x', 'POST /images/create'],
    ['GET', '/images/localhost/cri-shim/pause:1.0/json', 'GET /images/{id}/json'],
    ['POST', '/images/sha256:abc/tag?repo=a&tag=b', 'POST /images/{id}/tag'],
    ['DELETE', '/images/localhost:5000/team/app:1?noprune=false', 'DELETE /images/{id}'],
    ['GET', '/events?filters=x', 'GET /events'],
    ['GET', '/info', 'GET /info'],
    ['GET', '/v1.41/version', 'GET /version'],
  ])('%s %s → %s', (method, path, want) => {
    expect(dockerOperation(method, path)).toBe(want);
  });
});
