import { describe, expect, it } from 'vitest';
import { parseCli, validateConfigFile } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { ShimMetrics } from '../../../src/metrics/shim-metrics.js';
import { splitHostPort } from '../../../src/host-port.js';

describe('--metrics-address', () => {
  it('is off by default and taken from flags or the file', () => {
    expect(parseCli([]).config.metricsAddress).toBeUndefined();
    expect(parseCli(['--metrics-address', '127.0.0.1:9090']).config.metricsAddress).toBe('127.0.0.1:9090');
    expect(parseCli(['--metrics-address', '[::1]:0']).config.metricsAddress).toBe('[::1]:0');
    expect(validateConfigFile({ metricsAddress: '0.0.0.0:10250' })).toEqual({ metricsAddress: '0.0.0.0:10250' });
  });

  it.each(['9090', ':9090', '127.0.0.1:', '127.0.0.1:65536', 'a b:80', 'host:80/x', '::1:80'])('refuses %j naming the field', (bad) => {
    expect(() => parseCli(['--metrics-address', bad])).toThrow(/^flags: metricsAddress: /);
    expect(() => validateConfigFile({ metricsAddress: bad }, 'f.json')).toThrow(/^f\.json: metricsAddress: /);
  });

  it('splits host and port, IPv6 brackets off', () => {
    expect(splitHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(splitHostPort('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
  });
});

describe('ShimMetrics', () => {
  it('records what the observers are told, pod start from successful RunPodSandbox only', async () => {
    const m = new ShimMetrics(silentLogger);
    m.countPods({ sandboxStates: async () => ['ready', 'ready', 'notready'], containerStates: async () => ['running'] });
    m.observeRpc('RuntimeService/RunPodSandbox', 'OK', 0.25);
    m.observeRpc('RuntimeService/RunPodSandbox', 'NOT_FOUND', 0.01);
    m.observeCni({ plugin: 'bridge', command: 'ADD', result: 'timeout', seconds: 1 });
    m.observeDocker('POST /containers/create', 'error', 0.002);
    const { body, contentType } = await m.render();
    expect(contentType).toContain('text/plain');
    expect(body).toContain('cri_shim_grpc_request_duration_seconds_count{service="RuntimeService",method="RunPodSandbox",code="OK"} 1');
    expect(body).toContain('cri_shim_grpc_request_duration_seconds_count{service="RuntimeService",method="RunPodSandbox",code="NOT_FOUND"} 1');
    expect(body).toContain('cri_shim_pod_start_duration_seconds_count 1\n');
    expect(body).toContain('cri_shim_pod_start_duration_seconds_sum 0.25\n');
    expect(body).toContain('cri_shim_cni_plugin_duration_seconds_count{plugin="bridge",verb="ADD",result="timeout"} 1');
    expect(body).toContain('cri_shim_docker_request_duration_seconds_count{operation="POST /containers/create",result="error"} 1');
    expect(body).toContain('cri_shim_pod_sandboxes{state="ready"} 2');
    expect(body).toContain('cri_shim_pod_sandboxes{state="notready"} 1');
    expect(body).toContain('cri_shim_containers{state="running"} 1');
    expect(body).toContain('cri_shim_containers{state="exited"} 0');
  });
});
