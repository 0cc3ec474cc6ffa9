/**
 * The names of cri-shim's subcommands, apart from their code: cli.ts loads
 * subcommands.ts (and with it explain/ and doctor/) only when one is asked for.
 */
export function isSubcommand(name: string | undefined): boolean {
  return name === 'explain' || name === 'doctor';
}
