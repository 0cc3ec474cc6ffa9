/**
 * The user an image runs as (its config's `User`), split the way containerd's CRI
 * does it for `Image.uid` / `Image.username`: the part before `:` is the user; a
 * number is a uid, anything else a name; the group is not reported.
 */
export interface ImageUser {
  uid?: number;
  username?: string;
}

export function parseImageUser(user: string | undefined): ImageUser {
  const name = (user ?? '').split(':')[0] ?? '';
  if (name === '') return {};
  return /^[0-9]+$/.test(name) ? { uid: Number(name) } : { username: name };
}
