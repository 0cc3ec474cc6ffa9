/**
 * The set-up most pod suites share: a pod network of their own (createPodNetEnv), an
 * in-process shim on it, NetworkReady before the first test, and a teardown that stops
 * and removes every pod the shim lists, then the Docker containers it made, then the
 * network. Call inside a describe; the fields are set once its beforeAll has run.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { ShimConfig } from '../../src/config.js';
import { createPodNetEnv, sh, shimConfigFor, waitFor, type PodNetEnv } from './pod-net.js';
import { startTestShim, type TestShim } from './shim.js';

/** One runtime RPC, whichever way the shim is reached (in-process or a child process). */
export type RuntimeCall = (method: string, request: object) => Promise<any>;

export function runtimeCall(t: TestShim): RuntimeCall {
  return (method, request) => t.call(t.runtime, method, request);
}

/** Stop then Remove of each pod listed (those with `labels`), as the kubelet tears pods down. */
export async function stopAndRemovePods(call: RuntimeCall, labels?: Record<string, string>): Promise<string[]> {
  const filter = labels ? { filter: { label_selector: labels } } : {};
  const ids: string[] = (await call('ListPodSandbox', filter)).items.map((p: { id: string }) => p.id);
  for (const id of ids) {
    await call('StopPodSandbox', { pod_sandbox_id: id });
    await call('RemovePodSandbox', { pod_sandbox_id: id });
  }
  return ids;
}

export async function waitNetworkReady(t: TestShim): Promise<void> {
  await waitFor('NetworkReady', async () => {
    const res = await t.call(t.runtime, 'Status', {});
    return res.status.conditions.find((c: { type: string; status: boolean }) => c.type === 'NetworkReady')?.status === true || undefined;
  });
}

/** Docker containers made by the shim whose state dir this is, running or not. */
export function containersOfShim(stateDir: string): string[] {
  return sh('docker', ['ps', '-aq', '--filter', `label=io.cri-shim.managed=${resolve(stateDir)}`]).split('\n').filter(Boolean);
}

/** A shim of its own for the describe (no pod network), started before its tests and closed after. */
export function useTestShim(overrides: Partial<ShimConfig> = {}): { readonly t: TestShim } {
  let t: TestShim | undefined;
  beforeAll(async () => {
    t = await startTestShim(overrides);
  });
  afterAll(async () => {
    await t?.close();
  });
  return {
    get t() {
      return t!;
    },
  };
}

export interface PodShim {
  readonly env: PodNetEnv;
  readonly t: TestShim;
  readonly stateDir: string;
  readonly call: RuntimeCall;
  /** A new shim on the same network and dirs; with `loseState` its state dir is deleted first. */
  restart(opts?: { loseState?: boolean }): Promise<void>;
}

export interface PodShimOptions {
  /** Plugins appended to the suite's bridge + portmap + firewall chain. */
  extraPlugins?: object[];
  /** Shim flags over the ones for the network. */
  config?: Partial<ShimConfig>;
}

export function usePodShim(index: number, opts: PodShimOptions = {}): PodShim {
  let env: PodNetEnv | undefined;
  let t: TestShim | undefined;
  const config = (): Partial<ShimConfig> => ({ ...shimConfigFor(env!), ...opts.config });
  const suite: PodShim = {
    get env() {
      return env!;
    },
    get t() {
      return t!;
    },
    get stateDir() {
      return config().stateDir!;
    },
    call: (method, request) => runtimeCall(t!)(method, request),
    restart: async ({ loseState = false } = {}) => {
      await t?.close();
      t = undefined;
      if (loseState) rmSync(suite.stateDir, { recursive: true, force: true });
      t = await startTestShim(config());
    },
  };
  beforeAll(async () => {
    env = createPodNetEnv(index, opts.extraPlugins);
    t = await startTestShim(config());
    await waitNetworkReady(t);
  });
  afterAll(async () => {
    if (t) await stopAndRemovePods(suite.call).catch(() => undefined);
    await t?.close();
    if (env) for (const c of containersOfShim(suite.stateDir)) sh('docker', ['rm', '-f', c]);
    env?.cleanup();
  });
  return suite;
}
