// `npm run make-test-model -- DIR [--seed N]`
//
// Writes a random-weight stand-in for Xenova/all-MiniLM-L6-v2 (same
// architecture, files and tokenizer layout, including the int8 twin
// onnx/model_quantized.onnx; no semantic quality) into DIR, for
// EMBEDDING_MODEL_DIR on machines that cannot download the real model.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SEED, TEST_MODEL_MARKER, writeTestModel } from './testModel.js';

const USAGE = `usage: npm run make-test-model -- DIR [--seed N]
  DIR        folder to write (replaced if it exists)
  --seed N   weight seed, a non-negative integer (default ${DEFAULT_SEED}); each seed gives a different model`;

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const [dir, ...extra] = parsed.positionals;
const seed = parsed.values.seed === undefined ? DEFAULT_SEED : Number(parsed.values.seed);
if (parsed.values.help || dir === undefined || extra.length > 0 || !Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
  console.error(USAGE);
  process.exit(parsed.values.help ? 0 : 2);
}

const target = path.resolve(dir);
const started = performance.now();
// Drop the marker first so an existing folder is always rewritten, not trusted.
await fs.rm(path.join(target, TEST_MODEL_MARKER), { force: true });
await writeTestModel(target, seed);
const mib = async (file: string) => ((await fs.stat(path.join(target, file))).size / 2 ** 20).toFixed(1);
console.log(
  `Wrote a random-weight stand-in for all-MiniLM-L6-v2 (seed ${seed}, model.onnx ${await mib('onnx/model.onnx')} MiB, its int8 twin model_quantized.onnx ${await mib('onnx/model_quantized.onnx')} MiB) to ${target} in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
);
console.log(`Use it with EMBEDDING_MODEL_DIR=${target}, and EMBEDDING_DTYPE=q8 for the int8 twin (its embeddings have no semantic quality).`);
