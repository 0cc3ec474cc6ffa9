/**
 * Keeps docker-modem from loading ssh2 (a WebAssembly build of its ciphers included),
 * which costs ~14 MB of resident memory in every shim for a transport we never use:
 * the shim reaches dockerd only over its Unix socket (config.ts accepts nothing else).
 * docker-modem requires its `lib/ssh.js` when it loads, so this module, imported before
 * dockerode, puts a stand-in for that file in Node's CommonJS module cache. Should the
 * layout of docker-modem change, nothing is replaced and ssh2 simply loads as before.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const requireHere = createRequire(import.meta.url);

function noSsh(): never {
  throw new Error('cri-shim reaches dockerd over its Unix socket only; SSH is not loaded');
}

try {
  const fromDockerode = createRequire(join(dirname(requireHere.resolve('dockerode/package.json')), 'index.js'));
  const sshPath = fromDockerode.resolve('docker-modem/lib/ssh.js');
  if (!requireHere.cache[sshPath]) {
    const Module = requireHere('node:module') as { new (id: string): NodeJS.Module };
    const stub = new Module(sshPath);
    stub.filename = sshPath;
    stub.loaded = true;
    stub.exports = noSsh;
    requireHere.cache[sshPath] = stub;
  }
} catch {
  // docker-modem laid out differently: load it whole.
}
