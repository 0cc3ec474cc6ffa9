/**
 * A container reported EXITED has its whole output in its CRI log, as critest's
 * NoNewPrivs and RunAsUser specs expect: they read the file once, as soon as
 * ContainerStatus (or ListContainers) says EXITED. The shim copies Docker's log after the
 * fact, so without waiting for that copy a fast container's status ran ahead of its log
 * (found by critest: "expected log ... not found in logs []").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerSuite, type ContainerSuite } from './suite.js';

const LINES = 20_000;
/** Below the suite's 60 s test timeout: the container prints and exits in a few seconds. */
const POLL_BOUND_MS = 45_000;

describe('EXITED only with the log complete', () => {
  let s: ContainerSuite;

  beforeAll(async () => {
    s = await containerSuite(52, 'exitlog');
  });
  afterAll(async () => {
    await s?.teardown();
  });

  const lastLine = (name: string): string => {
    const text = readFileSync(join(s.podConfig.log_directory, name, '0.log'), 'utf8');
    return text.split('\n').filter(Boolean).at(-1) ?? '';
  };

  it.each(['ContainerStatus', 'ListContainers'])('%s: the first EXITED seen comes with the last line in the file', async (rpc) => {
    // Many lines, printed at once before exiting: the copy takes longer than the exit.
    const name = `burst-${rpc.toLowerCase()}`;
    const id = await s.run(name, ['sh', '-c', `seq 1 ${LINES}; echo done-${LINES}`]);
    // Polled back to back (no sleep), so the first EXITED answer is the one judged; bounded
    // so a container that never exits fails here with a reason instead of at the suite timeout.
    const giveUpAt = Date.now() + POLL_BOUND_MS;
    for (;;) {
      if (Date.now() > giveUpAt) throw new Error(`${name} not seen EXITED within ${POLL_BOUND_MS} ms of polling ${rpc}`);
      const state =
        rpc === 'ContainerStatus'
          ? (await s.t.call(s.t.runtime, 'ContainerStatus', { container_id: id })).status.state
          : (await s.t.call(s.t.runtime, 'ListContainers', { filter: { id } })).containers[0].state;
      if (state === 'CONTAINER_EXITED') break;
    }
    expect(lastLine(name)).toMatch(new RegExp(` stdout F done-${LINES}$`));
  });
});
