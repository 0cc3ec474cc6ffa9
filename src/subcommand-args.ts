/**
 * Arguments of `cri-shim <subcommand> …`: the subcommand's own words (positionals
 * and its boolean switches) are taken out, and everything else goes to the shim's
 * flag parser, so a subcommand sees the same --config/--state-dir/… as the shim.
 */
import { parseCli, type ShimConfig } from './config.js';

/** Shim flags that take no value; every other `--flag` without `=` consumes the next word. */
const SHIM_BOOLEANS = new Set(['--help', '--print-socket']);

export interface SubcommandArgs {
  positionals: string[];
  switches: Set<string>;
  help: boolean;
  config: ShimConfig;
}

export function parseSubcommandArgs(argv: string[], switches: string[]): SubcommandArgs {
  const positionals: string[] = [];
  const seen = new Set<string>();
  const shimArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (switches.includes(a)) seen.add(a);
    else if (!a.startsWith('-')) positionals.push(a);
    else {
      shimArgs.push(a);
      if (a.startsWith('--') && !a.includes('=') && !SHIM_BOOLEANS.has(a) && i + 1 < argv.length) shimArgs.push(argv[++i]);
    }
  }
  const parsed = parseCli(shimArgs);
  return { positionals, switches: seen, help: parsed.help, config: parsed.config };
}
