import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/cni/config.js';
import { locateJsonError } from '../../../src/cni/json-position.js';
import type { CniStatus } from '../../../src/cni/index.js';
import { FakeCni } from './fake-cni.js';

const list = (name: string, plugins: object[], extra: object = {}) => ({ cniVersion: '1.0.0', name, plugins, ...extra });

describe('CNI config loading', () => {
  let fake: FakeCni;
  beforeEach(async () => {
    fake = await FakeCni.create(['good', 'other']);
  });
  afterEach(async () => {
    await fake.cleanup();
  });

  it('picks the first valid file in lexical order and reports the invalid ones before it', async () => {
    await fake.writeConf('30-third.conflist', list('third', [{ type: 'good' }]));
    await fake.writeConf('20-second.conflist', list('second', [{ type: 'good' }]));
    await fake.writeConf('10-first.conflist', '{ "name": "broken", ');
    await fake.writeConf('05-notes.txt', 'not a config');
    const report = await fake.engine().loadNetworks();
    expect(report.network?.name).toBe('second');
    expect(report.network?.file).toBe(path.join(fake.confDir, '20-second.conflist'));
    expect(report.rejected.map((r) => path.basename(r.file))).toEqual(['10-first.conflist']);
    expect(report.usingLastGood).toBe(false);
  });

  it('orders by bytes, so "10-" comes before "9-" and upper case before lower', async () => {
    await fake.writeConf('9-a.conflist', list('nine', [{ type: 'good' }]));
    await fake.writeConf('10-a.conflist', list('ten', [{ type: 'good' }]));
    expect((await fake.engine().loadNetworks()).network?.name).toBe('ten');
    await fake.writeConf('0-Z.conf', { cniVersion: '1.0.0', name: 'upper', type: 'good' });
    await fake.writeConf('0-a.conf', { cniVersion: '1.0.0', name: 'lower', type: 'good' });
    expect((await fake.engine().loadNetworks()).network?.name).toBe('upper');
  });

  it.each([
    ['bad JSON with line and column', '{\n  "cniVersion": "1.0.0",\n  "name": "x",\n  "plugins": [ { "type": "good" }, ]\n}', 'invalid JSON at line 4 column 36'],
    ['missing type', JSON.stringify(list('x', [{ type: 'good' }, { foo: 1 }])), 'missing "type" in plugins[1]'],
    ['no plugins', JSON.stringify(list('x', [])), 'no plugins in "plugins"'],
    ['missing name', JSON.stringify({ cniVersion: '1.0.0', plugins: [{ type: 'good' }] }), 'missing "name"'],
    ['plugin not found', JSON.stringify(list('x', [{ type: 'good' }, { type: 'absent' }])), 'plugins[1]: plugin "absent" not found in BIN'],
    ['type with a slash', JSON.stringify(list('x', [{ type: '/bin/sh' }])), 'plugin type "/bin/sh" contains "/"'],
    ['type with ..', JSON.stringify(list('x', [{ type: '..good' }])), 'plugin type "..good" contains ".."'],
    ['type with NUL', JSON.stringify(list('x', [{ type: 'good\u0000x' }])), 'contains a NUL byte'],
    ['unsupported version', JSON.stringify(list('x', [{ type: 'good' }], { cniVersion: '9.0.0' })), 'cniVersion 9.0.0 not supported'],
    ['malformed version', JSON.stringify(list('x', [{ type: 'good' }], { cniVersion: 'v1' })), 'cniVersion "v1" is not of the form X.Y.Z'],
    ['missing version', JSON.stringify({ name: 'x', plugins: [{ type: 'good' }] }), 'missing "cniVersion"'],
    ['bad network name', JSON.stringify(list('../etc', [{ type: 'good' }])), 'network name "../etc" must match'],
    ['bad disableCheck', JSON.stringify(list('x', [{ type: 'good' }], { disableCheck: 'maybe' })), 'invalid disableCheck value "maybe"'],
    ['capabilities not booleans', JSON.stringify(list('x', [{ type: 'good', capabilities: { portMappings: 'yes' } }])), '"plugins[0].capabilities.portMappings" must be boolean'],
    ['not an object', '[1, 2]', 'config is not a JSON object'],
    ['empty file', '', 'file is empty'],
  ])('rejects a file with %s, saying why', async (_label, content, reason) => {
    await fake.writeConf('10-bad.conflist', content);
    const engine = fake.engine();
    const report = await engine.loadNetworks();
    expect(report.network).toBeUndefined();
    expect(report.rejected).toHaveLength(1);
    expect(report.rejected[0]?.reason).toContain(reason.replace('BIN', fake.binDir));
  });

  it('lists the bin dirs, in order, when a plugin is missing', async () => {
    const second = path.join(fake.root, 'bin2');
    await mkdir(second);
    await fake.writeConf('10-x.conflist', list('x', [{ type: 'absent' }]));
    const report = await fake.engine({ binDirs: [fake.binDir, second] }).loadNetworks();
    expect(report.rejected[0]?.reason).toBe(`plugin "absent" not found in ${fake.binDir}:${second}`);
  });

  it('finds a plugin in a later bin dir, and never follows a type outside them', async () => {
    const second = path.join(fake.root, 'bin2');
    await mkdir(second);
    await fake.install('late', second);
    await fake.writeConf('10-x.conflist', list('x', [{ type: 'late' }]));
    const engine = fake.engine({ binDirs: [fake.binDir, second] });
    expect((await engine.loadNetworks()).network?.name).toBe('x');
    // "../bin/good" would resolve to a real executable from bin2; it must be refused before any lookup.
    await fake.writeConf('05-trav.conflist', list('trav', [{ type: '../bin/good' }]));
    const report = await engine.loadNetworks();
    expect(report.rejected[0]?.reason).toContain('must be a bare executable name');
    expect(report.network?.name).toBe('x');
  });

  it('up-converts a .conf and keeps unknown plugin keys untouched', async () => {
    const conf = {
      cniVersion: '0.4.0',
      name: 'single',
      type: 'good',
      bridge: 'cni0',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/16' }]] },
      'vendor.example/knob': [1, { deep: true }],
    };
    await fake.writeConf('10-single.conf', conf);
    const report = await fake.engine().loadNetworks();
    expect(report.network).toMatchObject({ name: 'single', cniVersion: '0.4.0' });
    expect(report.network?.config).toEqual({ name: 'single', cniVersion: '0.4.0', plugins: [conf] });
  });

  it('a .json file is a single plugin too, and a list in a .conf gets a hint', async () => {
    await fake.writeConf('10-list-in.conf', list('wrong', [{ type: 'good' }]));
    await fake.writeConf('20-one.json', { cniVersion: '1.0.0', name: 'json', type: 'good' });
    const report = await fake.engine().loadNetworks();
    expect(report.network?.name).toBe('json');
    expect(report.rejected[0]?.reason).toBe('missing "type" (a plugin list belongs in a .conflist file)');
  });

  it('status is not ready and names every rejected file and its reason', async () => {
    await fake.writeConf('10-a.conflist', '{"name": }');
    await fake.writeConf('20-b.conflist', list('b', [{ type: 'nope' }]));
    await fake.writeConf('30-c.conf', { cniVersion: '1.0.0', name: 'c' });
    const status = await fake.engine().status();
    expect(status.ready).toBe(false);
    expect(status.reason).toBe('NetworkPluginNotReady');
    expect(status.message).toContain(`no valid CNI network config in ${fake.confDir}`);
    expect(status.message).toContain('10-a.conflist: invalid JSON at line 1 column 10');
    expect(status.message).toContain(`20-b.conflist: plugin "nope" not found in ${fake.binDir}`);
    expect(status.message).toContain('30-c.conf: missing "type"');
    expect(status.rejected).toHaveLength(3);
  });

  it('status says so when the conf dir is empty or missing', async () => {
    const empty = await fake.engine().status();
    expect(empty).toMatchObject({ ready: false, message: expect.stringContaining('no .conf, .conflist or .json file') });
    const missing = await fake.engine({ confDir: path.join(fake.root, 'nope') }).status();
    expect(missing.ready).toBe(false);
  });

  it('ready status reports the network and the files skipped before it', async () => {
    await fake.writeConf('10-a.conflist', '{');
    await fake.writeConf('20-b.conflist', list('b', [{ type: 'good' }]));
    const status = await fake.engine().status();
    expect(status).toMatchObject({ ready: true, network: { name: 'b', file: path.join(fake.confDir, '20-b.conflist') } });
    expect(status.message).toContain('skipped 10-a.conflist: invalid JSON');
  });

  it('keeps the last good network when the config turns invalid, and says so', async () => {
    await fake.writeConf('10-a.conflist', list('a', [{ type: 'good' }]));
    const engine = fake.engine();
    expect((await engine.loadNetworks()).network?.name).toBe('a');
    await fake.writeConf('10-a.conflist', '{"cniVersion": "1.0.0", "name": "a", "plugins": [');
    const report = await engine.loadNetworks();
    expect(report.usingLastGood).toBe(true);
    expect(report.network?.name).toBe('a');
    const status = await engine.status();
    expect(status).toMatchObject({ ready: true, reason: 'UsingLastGoodConfig' });
    expect(status.message).toContain('10-a.conflist: invalid JSON at line 1 column 50: unexpected end of input');
    expect(status.message).toContain('still using network "a"');
  });

  it('drops the network when its file is removed and the dir is empty, or its plugin vanished', async () => {
    const file = await fake.writeConf('10-a.conflist', list('a', [{ type: 'good' }]));
    const engine = fake.engine();
    await engine.loadNetworks();
    await unlink(file);
    expect((await engine.loadNetworks()).network).toBeUndefined();
    await fake.writeConf('10-a.conflist', list('a', [{ type: 'good' }]));
    await engine.loadNetworks();
    await rm(path.join(fake.binDir, 'good'));
    const report = await engine.loadNetworks();
    expect(report.network).toBeUndefined();
    expect((await engine.status()).message).toContain('plugin "good" not found');
  });
});

describe('CNI version negotiation (cniVersions)', () => {
  let fake: FakeCni;
  beforeEach(async () => {
    fake = await FakeCni.create(['one', 'two']);
  });
  afterEach(async () => {
    await fake.cleanup();
  });

  it('chooses the highest version offered that we and every plugin support, using VERSION', async () => {
    await fake.answer('two', 'VERSION', { out: { cniVersion: '1.0.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0'] } });
    await fake.writeConf('10-n.conflist', {
      cniVersion: '0.3.1',
      cniVersions: ['0.4.0', '1.0.0', '1.1.0', '2.0.0'],
      name: 'n',
      plugins: [{ type: 'one' }, { type: 'two' }],
    });
    const report = await fake.engine().loadNetworks();
    expect(report.network?.cniVersion).toBe('1.0.0');
    const calls = await fake.calls({ command: 'VERSION' });
    expect(calls.map((c) => c.type).sort()).toEqual(['one', 'two']);
    expect(calls[0]?.stdin).toEqual({ cniVersion: '1.1.0' });
  });

  it('takes 1.1.0 when everyone speaks it', async () => {
    await fake.writeConf('10-n.conflist', { cniVersions: ['1.0.0', '1.1.0'], name: 'n', plugins: [{ type: 'one' }] });
    expect((await fake.engine().loadNetworks()).network?.cniVersion).toBe('1.1.0');
  });

  it('rejects the file when there is no common version, naming what each side supports', async () => {
    await fake.answer('two', 'VERSION', { out: { cniVersion: '0.4.0', supportedVersions: ['0.3.1', '0.4.0'] } });
    await fake.writeConf('10-n.conflist', { cniVersions: ['1.0.0', '1.1.0'], name: 'n', plugins: [{ type: 'one' }, { type: 'two' }] });
    const report = await fake.engine().loadNetworks();
    expect(report.network).toBeUndefined();
    expect(report.rejected[0]?.reason).toContain('no CNI version in common');
    expect(report.rejected[0]?.reason).toContain('two supports [0.3.1, 0.4.0]');
  });

  it('treats a plugin that does not know VERSION as 0.1.0-only', async () => {
    await fake.answer('two', 'VERSION', { out: { code: 4, msg: 'unknown CNI_COMMAND: VERSION' }, exit: 1 });
    await fake.writeConf('10-n.conflist', { cniVersions: ['0.1.0', '1.0.0'], name: 'n', plugins: [{ type: 'two' }] });
    expect((await fake.engine().loadNetworks()).network?.cniVersion).toBe('0.1.0');
  });

  it('does not call VERSION for a plain cniVersion', async () => {
    await fake.writeConf('10-n.conflist', list('n', [{ type: 'one' }]));
    await fake.engine().loadNetworks();
    expect(await fake.calls({ command: 'VERSION' })).toEqual([]);
  });
});

describe('CNI config watcher', () => {
  let fake: FakeCni;
  beforeEach(async () => {
    fake = await FakeCni.create(['good']);
  });
  afterEach(async () => {
    await fake.cleanup();
  });

  function nextStatus(engine: ReturnType<FakeCni['engine']>, pred: (s: CniStatus) => boolean): Promise<CniStatus> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching status change within 5 s')), 5000);
      const off = engine.onChange((s) => {
        if (!pred(s)) return;
        clearTimeout(timer);
        off();
        resolve(s);
      });
    });
  }

  it('reloads when a config appears, changes or breaks, and when a plugin is installed', async () => {
    const engine = fake.engine({ watch: true, watchDebounceMs: 50 });
    expect((await engine.status()).ready).toBe(false);

    let next = nextStatus(engine, (s) => s.ready);
    await fake.writeConf('10-a.conflist', list('a', [{ type: 'good' }]));
    expect((await next).network?.name).toBe('a');

    next = nextStatus(engine, (s) => s.network?.name === 'b');
    await fake.writeConf('05-b.conflist', list('b', [{ type: 'good' }]));
    await next;

    next = nextStatus(engine, (s) => s.reason === 'UsingLastGoodConfig');
    await fake.writeConf('05-b.conflist', list('b', [{ type: 'late' }]));
    await rm(path.join(fake.confDir, '10-a.conflist'));
    expect((await next).network?.name).toBe('b');

    next = nextStatus(engine, (s) => s.ready && s.reason === undefined && s.network?.name === 'b');
    await fake.install('late');
    expect((await next).network?.config).toMatchObject({ plugins: [{ type: 'late' }] });
  });

  it('starts watching a conf dir that did not exist yet', async () => {
    const confDir = path.join(fake.root, 'later');
    const engine = fake.engine({ confDir, watch: true, watchDebounceMs: 50, watchRetryMs: 50 });
    expect((await engine.status()).ready).toBe(false);
    const next = nextStatus(engine, (s) => s.ready);
    await mkdir(confDir);
    await writeFile(path.join(confDir, '10-a.conflist'), JSON.stringify(list('a', [{ type: 'good' }])));
    expect((await next).network?.name).toBe('a');
  });

  it('close() stops reloading', async () => {
    const engine = fake.engine({ watch: true, watchDebounceMs: 20 });
    await engine.status();
    let changes = 0;
    engine.onChange(() => changes++);
    engine.close();
    await fake.writeConf('10-a.conflist', list('a', [{ type: 'good' }]));
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toBe(0);
  });
});

describe('parseConfig / locateJsonError', () => {
  it.each([
    ['{"a": 1,}', 1, 9, "expected a property name"],
    ['{\n "a": [1, 2\n}', 3, 1, "expected ',' or ']'"],
    ['{"a": tru}', 1, 7, 'expected a value'],
    ['{"a": "x\ny"}', 1, 9, 'control character in string'],
    ['{"a": 1} x', 1, 10, 'unexpected data after the JSON value'],
    ['{"a": 01}', 1, 8, "expected ',' or '}'"],
    ['{"a": "\\q"}', 1, 9, 'bad escape sequence'],
    ['{"a"', 1, 5, "expected ':'"],
  ])('locates the error in %j at line %i column %i', (text, line, column, reason) => {
    expect(locateJsonError(text)).toEqual({ line, column, reason: expect.stringContaining(reason) });
  });

  it('finds nothing wrong in valid JSON', () => {
    expect(locateJsonError('{"a": [1, -2.5e3, "x\\u00e9", true, null, {}]}')).toBeUndefined();
  });

  it('caches a .conflist as its own bytes and a .conf as the up-converted list', () => {
    const text = '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x"}]}  \n';
    const parsed = parseConfig(Buffer.from(text), 'list');
    expect(parsed.ok && parsed.list.bytes.toString()).toBe(text);
    const single = parseConfig(Buffer.from('{"cniVersion":"0.3.1","name":"n","type":"x","k":1}'), 'single');
    expect(single.ok && JSON.parse(single.list.bytes.toString())).toEqual({
      name: 'n',
      cniVersion: '0.3.1',
      plugins: [{ cniVersion: '0.3.1', name: 'n', type: 'x', k: 1 }],
    });
  });

  it('accepts "true"/"false" strings for disableCheck and disableGC, like libcni', () => {
    const parsed = parseConfig(Buffer.from(JSON.stringify(list('n', [{ type: 'x' }], { disableCheck: 'True', disableGC: true }))), 'list');
    expect(parsed.ok && [parsed.list.disableCheck, parsed.list.disableGC]).toEqual([true, true]);
  });
});
