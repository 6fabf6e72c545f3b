// `npx tsx bench/suite/cpuProfile.ts FILE.cpuprofile [--top N] [--skip S]`:
// where a V8 CPU profile (node --cpu-prof) spent its time — self time by
// package or part of Node, then the top functions — as shares of the profiled
// time, leaving out the first S seconds (start-up) and idle time.
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, skip: { type: 'string', default: '0' } } });
if (positionals.length !== 1) {
  console.error('usage: npx tsx bench/suite/cpuProfile.ts FILE.cpuprofile [--top N] [--skip S]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
const skipUs = Number(values.skip) * 1e6;
let at = 0;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at < skipUs || byId.get(id)!.callFrame.functionName === '(idle)') return;
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

/** node_modules package, node: internals, the project's own files, or V8's (GC, idle, program). */
function area(url: string, fn: string): string {
  if (!url) return `(${fn || 'anonymous'})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const own = /\/(core|server|worker|scripts)\/([^/]+)/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

const areas = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, us] of self) {
  const { callFrame: f } = byId.get(id)!;
  const a = area(f.url, f.functionName);
  areas.set(a, (areas.get(a) ?? 0) + us);
  const key = `${f.functionName || '(anonymous)'} ${a}:${f.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
const top = Number(values.top);
console.log(`${(total / 1e6).toFixed(1)} s busy after the first ${values.skip} s\n\nself time by area:`);
for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(us)}  ${a}`);
console.log('\nself time by function:');
for (const [f, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(us)}  ${f}`);
