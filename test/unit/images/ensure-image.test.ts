import { describe, expect, it } from 'vitest';
import { NotFoundError, UnavailableError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { createWithImage, ImageEnsurer, ImagePullFailedError } from '../../../src/runtime/images/ensure-image.js';

const noSuchImage = () => Object.assign(new Error('(HTTP code 404) no such container - No such image: p:1'), { statusCode: 404 });

describe('createWithImage', () => {
  it('does not pull when the create succeeds', async () => {
    let ensured = 0;
    const out = await createWithImage(async () => 'made', 'p:1', async () => void ensured++, silentLogger);
    expect(out).toBe('made');
    expect(ensured).toBe(0);
  });

  it('on a 404 pulls, then creates again', async () => {
    let creates = 0;
    const ensured: string[] = [];
    const out = await createWithImage(
      async () => {
        if (creates++ === 0) throw noSuchImage();
        return 'made';
      },
      'p:1',
      async (image) => void ensured.push(image),
      silentLogger,
    );
    expect(out).toBe('made');
    expect(ensured).toEqual(['p:1']);
    expect(creates).toBe(2);
  });

  it("other create failures are the create's own; no ensurer leaves the 404 as it is", async () => {
    const conflict = Object.assign(new Error('conflict'), { statusCode: 409 });
    await expect(createWithImage(async () => Promise.reject(conflict), 'p:1', async () => undefined, silentLogger)).rejects.toBe(conflict);
    const missing = noSuchImage();
    await expect(createWithImage(async () => Promise.reject(missing), 'p:1', undefined, silentLogger)).rejects.toBe(missing);
  });

  it("a failed pull keeps the pull's code and names the image", async () => {
    const err = await createWithImage(
      async () => Promise.reject(noSuchImage()),
      'p:1',
      async () => Promise.reject(new NotFoundError('image p:1 not found: manifest unknown')),
      silentLogger,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagePullFailedError);
    expect((err as ImagePullFailedError).code).toBe('NOT_FOUND');
    expect((err as Error).message).toBe('image p:1 is not on the node and pulling it failed: image p:1 not found: manifest unknown');
  });
});

describe('ImageEnsurer', () => {
  it('concurrent callers share one check and one pull; a later caller finds the image', async () => {
    let present = false;
    let pulls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ensurer = new ImageEnsurer({
      present: async () => present,
      pull: async () => {
        pulls++;
        await gate;
        present = true;
        return 'sha256:x';
      },
    });
    const waiting = Array.from({ length: 5 }, () => ensurer.ensure('p:1', silentLogger));
    release();
    await Promise.all(waiting);
    await ensurer.ensure('p:1', silentLogger);
    expect(pulls).toBe(1);
  });

  it('a failed pull fails every waiter, and the next call tries again', async () => {
    let pulls = 0;
    const ensurer = new ImageEnsurer({
      present: async () => false,
      pull: async () => {
        pulls++;
        throw new UnavailableError('registry down');
      },
    });
    const results = await Promise.allSettled([ensurer.ensure('p:1', silentLogger), ensurer.ensure('p:1', silentLogger)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(ensurer.ensure('p:1', silentLogger)).rejects.toThrow('registry down');
    expect(pulls).toBe(2);
  });
});
