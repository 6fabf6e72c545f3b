// One reading of durations for config, CLIs and the dashboard: "500ms", "30s",
// "10m", "2h", "7d", "1w"; a bare number is milliseconds when allowed.
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string, opts: { bareMilliseconds?: boolean } = {}): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m || (m[2] === undefined && !opts.bareMilliseconds)) return undefined;
  const ms = Math.round(Number(m[1]) * UNITS[(m[2] ?? 'ms') as keyof typeof UNITS]);
  return Number.isFinite(ms) ? ms : undefined;
}
