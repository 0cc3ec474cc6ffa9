/**
 * The node-load bench's relist loop (ListPodSandbox + ListContainers every second), in a
 * worker thread with a gRPC client of its own: on the bench's main thread its timings
 * also held whatever that thread was doing meanwhile (decoding a 110-pod stats answer,
 * starting exec probes), which is the bench's own latency, not the runtime's.
 * workerData: { address } (unix://…). Messages in: 'pause', 'resume', 'stop'.
 * Messages out: { at, ms } per relist answered (at: Unix ms it started), { at, error },
 * and 'stopped' once the last relist has ended.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials } from '@grpc/grpc-js';
import { loadCriPackage } from '../dist/cri/proto.js';

const pkg = loadCriPackage();
const client = new pkg.runtime.v1.RuntimeService(workerData.address, credentials.createInsecure(), {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
});
const call = (m) => new Promise((res, rej) => client[m]({}, { deadline: Date.now() + 60_000 }, (e, r) => (e ? rej(e) : res(r))));

let paused = false;
let stopping = false;
parentPort.on('message', (m) => {
  if (m === 'pause') paused = true;
  else if (m === 'resume') paused = false;
  else if (m === 'stop') stopping = true;
});

while (!stopping) {
  const tick = sleep(1000);
  if (!paused) {
    const at = Date.now();
    const t0 = performance.now();
    try {
      await call('ListPodSandbox');
      await call('ListContainers');
      parentPort.postMessage({ at, ms: performance.now() - t0 });
    } catch (err) {
      parentPort.postMessage({ at, error: err.details ?? err.message });
    }
  }
  await tick;
}
client.close();
parentPort.postMessage('stopped');
