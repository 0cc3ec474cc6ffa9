/** `HOST:PORT` or `[V6]:PORT` → its parts (the config has checked the form); an empty host stays empty. */
export function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
}
