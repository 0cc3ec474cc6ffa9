/**
 * A missing --pause-image is pulled by RunPodSandbox (through PullImage's path),
 * once for concurrent pods, is pinned, and cannot be removed while a pod (even a
 * stopped one) keeps its pause container. Real dockerd, real CNI plugins, a real
 * docker-registry on loopback.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPodNetEnv, removeContainersOfPod, sh, shimConfigFor, type PodNetEnv } from '../../helpers/pod-net.js';
import { waitNetworkReady } from '../../helpers/pod-shim.js';
import { docker, dockerFails, imageExists, pushImage, removeImages, startRegistry, uniqueName, type TestRegistry } from '../../helpers/registry.js';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';

const PAUSE = 'localhost/cri-shim/pause:1.0';
const SUITE = uniqueId('pause-pull');

/** A pause image of this run's own (unique id), so removing it never touches the shared one. */
function buildPause(name: string): void {
  execFileSync('docker', ['build', '-q', '-t', name, '-'], {
    input: `FROM ${PAUSE}\nLABEL io.cri-shim.test.image=${JSON.stringify(name)}\n`,
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** dockerd's `pull` events for `image` since `since` (unix seconds with fraction). */
function pullEvents(image: string, since: string): number {
  const out = docker('events', '--since', since, '--until', nowStamp(), '--filter', 'type=image', '--filter', 'event=pull', '--format', '{{.Actor.ID}}');
  return out.split('\n').filter((id) => id === image).length;
}

function nowStamp(): string {
  const ms = Date.now();
  return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;
}

describe('RunPodSandbox pulls a missing pause image', () => {
  let env: PodNetEnv;
  let registry: TestRegistry;
  let pauseName: string;
  let missingName: string;
  let mirroredName: string;
  let t: TestShim;
  let missing: TestShim;
  let mirrored: TestShim;
  const uids: string[] = [];

  function podConfig(name: string) {
    const uid = uniqueId('uid');
    uids.push(uid);
    return {
      metadata: { name, uid, namespace: 'crt', attempt: 0 },
      hostname: name,
      log_directory: join(env.dir, 'logs', name),
      labels: { 'cri-shim-test': SUITE },
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
  }

  async function removePod(shim: TestShim, id: string): Promise<void> {
    await shim.call(shim.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
    await shim.call(shim.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
  }

  beforeAll(async () => {
    env = createPodNetEnv(110);
    registry = await startRegistry();
    const port = registry.host.split(':')[1];
    const local = `localhost/${uniqueName('cri-shim-test-pause')}:1.0`;
    const pausePath = `cri-shim-test/${uniqueName('pause')}:1.0`;
    pauseName = `localhost:${port}/${pausePath}`;
    // A registry no one can reach: only its mirror (our registry) may serve it.
    mirroredName = `registry.cri-shim.invalid/${pausePath}`;
    missingName = `localhost:${port}/cri-shim-test/${uniqueName('never-pushed')}:1.0`;
    buildPause(local);
    await pushImage(local, pauseName);
    removeImages(local);
    expect(imageExists(pauseName)).toBe(false);
    t = await startTestShim({ ...shimConfigFor(env), pauseImage: pauseName });
    missing = await startTestShim({ ...shimConfigFor(env), stateDir: join(env.dir, 'state-missing'), pauseImage: missingName });
    mirrored = await startTestShim({
      ...shimConfigFor(env),
      stateDir: join(env.dir, 'state-mirrored'),
      pauseImage: mirroredName,
      registryMirrors: { 'registry.cri-shim.invalid': [registry.url] },
      registryFallback: { '*': 'none' },
    });
    await waitNetworkReady(t);
  });

  afterAll(async () => {
    await t?.close();
    await missing?.close();
    await mirrored?.close();
    for (const uid of uids) removeContainersOfPod(uid);
    if (pauseName) removeImages(pauseName, mirroredName);
    await registry?.stop();
    env?.cleanup();
  });

  it('pulls it, runs the pod, lists it pinned; RemoveImage refuses while a stopped pod keeps it', async () => {
    const since = nowStamp();
    const { pod_sandbox_id: id } = await t.call(t.runtime, 'RunPodSandbox', { config: podConfig('first') });
    expect(imageExists(pauseName)).toBe(true);
    expect(pullEvents(pauseName, since)).toBe(1);
    const st = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id });
    expect(st.status.state).toBe('SANDBOX_READY');

    const imageStatus = await t.call(t.image, 'ImageStatus', { image: { image: pauseName } });
    expect(imageStatus.image).toMatchObject({ repo_tags: [pauseName], pinned: true });
    const { images } = await t.call(t.image, 'ListImages', {});
    expect(images.find((i: any) => i.id === imageStatus.image.id)).toMatchObject({ pinned: true });

    // Stopped, the pod still has its pause container: the image stays.
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
    const err = await t.call(t.image, 'RemoveImage', { image: { image: pauseName } }).catch((e: any) => e);
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(`pause image of pod sandbox ${id.slice(0, 12)}`);
    expect(imageExists(pauseName)).toBe(true);

    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
    await t.call(t.image, 'RemoveImage', { image: { image: pauseName } });
    expect(imageExists(pauseName)).toBe(false);
  });

  it('five concurrent RunPodSandbox share one pull', async () => {
    expect(imageExists(pauseName)).toBe(false);
    const since = nowStamp();
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => t.call(t.runtime, 'RunPodSandbox', { config: podConfig(`many-${i}`) })),
    );
    const ids = results.map((r) => r.pod_sandbox_id as string);
    expect(new Set(ids).size).toBe(5);
    expect(pullEvents(pauseName, since)).toBe(1);
    for (const id of ids) {
      const st = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id });
      expect(st.status.state).toBe('SANDBOX_READY');
    }
    for (const id of ids) await removePod(t, id);
  });

  it('a pause image the registry does not have either: NOT_FOUND naming it, nothing left behind', async () => {
    const config = podConfig('never');
    const err = await missing.call(missing.runtime, 'RunPodSandbox', { config }).catch((e: any) => e);
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain(`image ${missingName} is not on the node and pulling it failed`);
    expect(imageExists(missingName)).toBe(false);
    expect(sh('docker', ['ps', '-aq', '--filter', `label=io.kubernetes.pod.uid=${config.metadata.uid}`]).trim()).toBe('');
    const stateDir = join(env.dir, 'state-missing', 'sandboxes');
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
    expect(env.bridgePorts()).toEqual([]);
    expect(env.reservedIps()).toEqual([]);
    const { items } = await missing.call(missing.runtime, 'ListPodSandbox', {});
    expect(items).toEqual([]);
    expect(dockerFails('image', 'inspect', missingName)).not.toBeNull();
  });

  it("goes through the configured mirrors as PullImage does (the origin is never asked: fallback none)", async () => {
    expect(imageExists(mirroredName)).toBe(false);
    const { pod_sandbox_id: id } = await mirrored.call(mirrored.runtime, 'RunPodSandbox', { config: podConfig('mirrored') });
    expect(imageExists(mirroredName)).toBe(true);
    // The mirror's own name was only the way in: the image is left under the name asked for.
    expect(imageExists(`${registry.host}/${mirroredName.slice(mirroredName.indexOf('/') + 1)}`)).toBe(false);
    const imageStatus = await mirrored.call(mirrored.image, 'ImageStatus', { image: { image: mirroredName } });
    expect(imageStatus.image).toMatchObject({ pinned: true });
    expect(imageStatus.image.repo_tags).toContain(mirroredName);
    await removePod(mirrored, id);
  });
});
