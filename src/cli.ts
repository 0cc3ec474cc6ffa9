#!/usr/bin/env node
/**
 * `cri-shim [flags]`: parse flags, start the shim, drain and exit on SIGTERM/SIGINT.
 */
import { helpText, parseCli, unixPath } from './config.js';
import { createLogger } from './logger.js';
import { startShim } from './shim.js';
import { isSubcommand } from './subcommand-names.js';
import { versionText } from './version-info.js';

async function main(): Promise<void> {
  if (process.argv[2] === '--version') {
    process.stdout.write(versionText() + '\n');
    return;
  }
  // explain/doctor load only for themselves: the shim never runs their code.
  const subcommands = () => import('./subcommands.js');
  const sub = isSubcommand(process.argv[2]) ? await (await subcommands()).runSubcommand(process.argv.slice(2)) : undefined;
  if (sub !== undefined) process.exit(sub);
  let parsed;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`cri-shim: ${(err as Error).message}\n\n${helpText()}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(helpText() + '\n\n' + (await subcommands()).SUBCOMMANDS_HELP + '\n');
    return;
  }
  if (parsed.printSocket) {
    process.stdout.write(unixPath(parsed.config.listen) + '\n');
    return;
  }
  const logger = createLogger(parsed.config.logLevel);
  let shim;
  try {
    shim = await startShim(parsed.config, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot start');
    process.stderr.write(`cri-shim: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // Calls in flight get up to 10 s to finish or roll back; kill -9 is the way to cut them.
    shim.stop(10_000).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
