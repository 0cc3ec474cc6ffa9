import { describe, expect, it } from 'vitest';
import { parseImageUser } from '../../../src/runtime/images/user.js';

describe('parseImageUser', () => {
  it.each([
    [undefined, {}],
    ['', {}],
    ['0', { uid: 0 }],
    ['1002', { uid: 1002 }],
    ['1003:1004', { uid: 1003 }],
    ['www-data', { username: 'www-data' }],
    ['www-data:33', { username: 'www-data' }],
    [':1004', {}],
  ])('%j → %j', (user, want) => expect(parseImageUser(user)).toEqual(want));
});
