/**
 * Docker names are injective (#11 class 6: pods `a/b` and `a-b` met on one name): over a
 * grid of tricky parts, distinct pods and containers never share a name, kubelet-style
 * names keep the kubelet's scheme exactly, and the attempt reads back from every name.
 */
import { describe, expect, it } from 'vitest';
import { attemptFromDockerName, sandboxContainerName, workloadContainerName } from '../../../src/runtime/naming.js';

const PARTS = ['a', 'a-b', 'a/b', 'a_b', 'a b', 'a.b', 'a-b_c', 'a_b-c', 'b_c', 'A', 'é', 'a--b', '', 'h0123456789abcdef0123'];
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

describe('Docker names', () => {
  it('never give two different pods (or containers) one name', () => {
    const seen = new Map<string, string>();
    for (const container of ['POD', 'c', 'c/d', 'c-d', 'c_d']) {
      for (const name of PARTS.filter(Boolean)) {
        for (const namespace of PARTS) {
          for (const uid of ['u', 'u_1', 'u-1', 'u/1']) {
            for (const attempt of [0, 1, 10]) {
              const pod = { name, namespace, uid };
              const docker = container === 'POD' ? sandboxContainerName(pod, attempt) : workloadContainerName(container, pod, attempt);
              const key = JSON.stringify([container, name, namespace, uid, attempt]);
              expect(docker).toMatch(DOCKER_NAME);
              expect(seen.get(docker) ?? key, `${docker} for ${key}`).toBe(key);
              seen.set(docker, key);
              expect(attemptFromDockerName(`/${docker}`)).toBe(attempt);
            }
          }
        }
      }
    }
  });

  it('keep the kubelet scheme for names that are already valid', () => {
    const pod = { name: 'web-0', namespace: 'kube-system', uid: '7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e' };
    expect(sandboxContainerName(pod, 2)).toBe('k8s_POD_web-0_kube-system_7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e_2');
    expect(workloadContainerName('nginx', pod, 0)).toBe('k8s_nginx_web-0_kube-system_7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e_0');
  });

  it('the issue example: a/b and a-b differ', () => {
    const uid = 'u';
    expect(sandboxContainerName({ name: 'a/b', namespace: 'ns', uid }, 0)).not.toBe(sandboxContainerName({ name: 'a-b', namespace: 'ns', uid }, 0));
  });

  it.each([
    ['/k8s_POD_web_default_u-1_3', 3],
    ['k8s_c_a-b_ns_u_7_h0a8cfd0e2d572ab7c079', 7],
    // Written by earlier versions, which kept `_` inside parts.
    ['/k8s_c_a_b_ns_u_4', 4],
    ['not-ours', 0],
  ])('attempt of %s is %d', (name, attempt) => {
    expect(attemptFromDockerName(name)).toBe(attempt);
  });
});
