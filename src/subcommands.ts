/**
 * `cri-shim explain …` and `cri-shim doctor …`: read-only tools that share the shim's
 * flags and defaults. Returns the exit code, or undefined when argv is no subcommand.
 */
import { runDoctor, DOCTOR_USAGE } from './doctor/command.js';
import { EXPLAIN_USAGE, runExplain, type Output } from './explain/command.js';
import { helpText } from './config.js';
import { parseSubcommandArgs } from './subcommand-args.js';
import { isSubcommand } from './subcommand-names.js';

export const SUBCOMMANDS_HELP = [
  'Subcommands:',
  '  explain <pod> [--json]   the pod\'s network path as the node has it; flags what is missing',
  '  doctor [--json]          checks the node for what the shim needs; exit 0 only when all pass',
  '  --version                print the version',
].join('\n');

const stdio: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export async function runSubcommand(argv: string[], io: Output = stdio): Promise<number | undefined> {
  const name = argv[0];
  if (!isSubcommand(name)) return undefined;
  const usage = name === 'explain' ? EXPLAIN_USAGE : DOCTOR_USAGE;
  let args;
  try {
    args = parseSubcommandArgs(argv.slice(1), ['--json']);
  } catch (err) {
    io.err(`cri-shim ${name}: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if (args.help) {
    io.out(`${usage}\n\nShim flags (same defaults as the shim):\n${helpText().split('\n').slice(3).join('\n')}\n`);
    return 0;
  }
  const json = args.switches.has('--json');
  try {
    if (name === 'explain') {
      if (args.positionals.length !== 1) {
        io.err(`cri-shim explain: expected exactly one pod, got ${args.positionals.length}\n${usage}\n`);
        return 2;
      }
      return await runExplain(args.positionals[0], json, args.config, io);
    }
    if (args.positionals.length) {
      io.err(`cri-shim doctor: unexpected argument ${args.positionals[0]}\n${usage}\n`);
      return 2;
    }
    return await runDoctor(args.config, json, io);
  } catch (err) {
    io.err(`cri-shim ${name}: ${(err as Error).message}\n`);
    return 2;
  }
}
