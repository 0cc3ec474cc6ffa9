/**
 * The process runner's helper program (see runner.ts): a small Node process that reads
 * one JSON request per line on stdin, runs it with runLocal, and writes one JSON answer
 * per line on stdout, `{ id, outcome }`, in whatever order the programs finish. When
 * the shim goes away (stdin ends) it finishes what runs and exits.
 */
import { createInterface } from 'node:readline';
import { runLocal, type ProcessOutcome, type ProcessRequest } from './run-local.js';

interface Envelope {
  id: number;
  request: ProcessRequest;
}

let running = 0;
let closing = false;

function answer(id: number, outcome: ProcessOutcome): void {
  process.stdout.write(`${JSON.stringify({ id, outcome })}\n`);
}

function maybeExit(): void {
  if (closing && running === 0) process.exit(0);
}

async function serve(line: string): Promise<void> {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(line) as Envelope;
  } catch {
    process.stderr.write(`cri-shim process runner: unreadable request ignored\n`);
    return;
  }
  running++;
  try {
    answer(envelope.id, await runLocal(envelope.request));
  } catch (err) {
    answer(envelope.id, { stdout: '', stderr: '', exitCode: null, signal: null, timedOut: false, spawnError: { message: (err as Error).message } });
  } finally {
    running--;
    maybeExit();
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => void serve(line));
lines.on('close', () => {
  closing = true;
  maybeExit();
});
