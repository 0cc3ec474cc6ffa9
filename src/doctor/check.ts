/** One doctor check: what was looked at, whether it passed, and the fix when it did not. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found, in a sentence. */
  detail: string;
  /** What to do about it; present whenever ok is false. */
  fix?: string;
}

export function pass(name: string, detail: string): CheckResult {
  return { name, ok: true, detail };
}

export function fail(name: string, detail: string, fix: string): CheckResult {
  return { name, ok: false, detail, fix };
}

export function renderChecks(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? '✓' : '✗'} ${r.name}: ${r.detail}`);
    if (!r.ok && r.fix) lines.push(`    fix: ${r.fix}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push('');
  lines.push(failed === 0 ? `all ${results.length} checks passed` : `${failed} of ${results.length} checks failed`);
  return lines.join('\n') + '\n';
}
