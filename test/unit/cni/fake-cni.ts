/**
 * A throwaway CNI world for unit tests: conf dir, bin dir of fake plugins
 * (test/fixtures/cni/fake-plugin.sh under several names), cache dir, and readers
 * for what the fake plugins recorded.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCniEngine, type CniEngine, type CniEngineOptions } from '../../../src/cni/index.js';

export const FAKE_PLUGIN = fileURLToPath(new URL('../../fixtures/cni/fake-plugin.sh', import.meta.url));

export interface FakeCall {
  type: string;
  command: string;
  pid: number;
  env: Record<string, string>;
  stdinText: string;
  /** Parsed stdin (undefined when it was not JSON). */
  stdin: Record<string, any> | undefined;
}

export interface Answer {
  out?: string | object;
  err?: string;
  exit?: number;
  sleep?: number;
}

export class FakeCni {
  readonly confDir: string;
  readonly binDir: string;
  readonly ctlDir: string;
  readonly cacheDir: string;
  private readonly engines: CniEngine[] = [];

  private constructor(readonly root: string) {
    this.confDir = path.join(root, 'net.d');
    this.binDir = path.join(root, 'bin');
    this.ctlDir = path.join(root, 'ctl');
    this.cacheDir = path.join(root, 'cache');
  }

  static async create(types: string[] = []): Promise<FakeCni> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'cni-unit-'));
    const fake = new FakeCni(root);
    for (const dir of [fake.confDir, fake.binDir, fake.ctlDir, fake.cacheDir]) await mkdir(dir, { recursive: true });
    for (const t of types) await fake.install(t);
    return fake;
  }

  async install(type: string, dir = this.binDir): Promise<string> {
    const target = path.join(dir, type);
    await copyFile(FAKE_PLUGIN, target);
    await chmod(target, 0o755);
    return target;
  }

  async answer(type: string, command: string, a: Answer): Promise<void> {
    const base = path.join(this.ctlDir, `${type}.${command}`);
    for (const ext of ['out', 'err', 'exit', 'sleep']) await rm(`${base}.${ext}`, { force: true });
    if (a.out !== undefined) await writeFile(`${base}.out`, typeof a.out === 'string' ? a.out : JSON.stringify(a.out));
    if (a.err !== undefined) await writeFile(`${base}.err`, a.err);
    if (a.exit !== undefined) await writeFile(`${base}.exit`, String(a.exit));
    if (a.sleep !== undefined) await writeFile(`${base}.sleep`, String(a.sleep));
  }

  async pids(type: string, command: string): Promise<number[]> {
    const text = await readFile(path.join(this.ctlDir, `${type}.${command}.pids`), 'utf8');
    return text.trim().split(/\s+/).map(Number);
  }

  async writeConf(name: string, content: object | string): Promise<string> {
    const file = path.join(this.confDir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }

  async calls(filter: { command?: string; type?: string } = {}): Promise<FakeCall[]> {
    let log: string;
    try {
      log = await readFile(path.join(this.ctlDir, 'calls.log'), 'utf8');
    } catch {
      return [];
    }
    const out: FakeCall[] = [];
    for (const line of log.split('\n').filter(Boolean)) {
      const [type, command, pidText] = line.split(' ') as [string, string, string];
      if (filter.command && filter.command !== command) continue;
      if (filter.type && filter.type !== type) continue;
      const envText = await readFile(path.join(this.ctlDir, 'calls', `${pidText}.env`), 'utf8');
      const stdinText = await readFile(path.join(this.ctlDir, 'calls', `${pidText}.stdin`), 'utf8');
      const env: Record<string, string> = {};
      for (const l of envText.split('\n')) {
        const eq = l.indexOf('=');
        if (eq > 0) env[l.slice(0, eq)] = l.slice(eq + 1);
      }
      let stdin: Record<string, any> | undefined;
      try {
        stdin = JSON.parse(stdinText);
      } catch {
        stdin = undefined;
      }
      out.push({ type, command, pid: Number(pidText), env, stdinText, stdin });
    }
    return out;
  }

  async clearCalls(): Promise<void> {
    await rm(path.join(this.ctlDir, 'calls.log'), { force: true });
    await rm(path.join(this.ctlDir, 'calls'), { recursive: true, force: true });
  }

  engine(opts: Partial<CniEngineOptions> = {}): CniEngine {
    const engine = createCniEngine({
      confDir: this.confDir,
      binDirs: [this.binDir],
      cacheDir: this.cacheDir,
      pluginTimeoutMs: 10_000,
      watch: false,
      ...opts,
    });
    this.engines.push(engine);
    return engine;
  }

  async cleanup(): Promise<void> {
    for (const e of this.engines) e.close();
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A 1.0.0-style result such as a main plugin (bridge) returns. */
export function mainResult(version: string, ip = '10.99.0.5/24', netns = '/var/run/netns/x'): object {
  return {
    cniVersion: version,
    interfaces: [
      { name: 'br0', mac: '00:11:22:33:44:55' },
      { name: 'veth1', mac: '00:11:22:33:44:66' },
      { name: 'eth0', mac: '00:11:22:33:44:77', sandbox: netns },
    ],
    ips: [{ address: ip, gateway: '10.99.0.1', interface: 2 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.99.0.1' }],
    dns: { nameservers: ['10.99.0.10'] },
  };
}
