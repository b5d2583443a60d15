// Measures @scure/starknet on the same operations as stark_bench.cpp and prints one JSON object
// of ops/s. Run by ciro_stark_bench: node scure_bench.mjs [seconds_per_op]
import { pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, '..', '..', 'tests', 'interop', 'starknet', 'node_modules', '@scure', 'starknet', 'index.js');
const stark = await import(pathToFileURL(entry).href);
stark.utils.precompute(8); // scure's own benchmark does this once: best case for the reference

const seconds = Number(process.argv[2] || 1);
const priv = '0x2dccce1da22003777062ee0870e9881b460a8b7eca276870f57c601f182136c';
const msg = '0xc465dd6b1bbffdb05442eb17f5ca38ad1aa78a6f56bf4415bdee219114a47';
const pub = stark.getPublicKey(priv);
const sig = stark.sign(msg, priv);
const a = 0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cbn;
const b = 0x208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31an;
const ten = Array.from({ length: 10 }, (_, i) => a + BigInt(i) * b);

// CPU time (user + system, microseconds) like the C++ side: the machines are shared.
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// The best of several slices, as on the C++ side (interference only slows a slice down).
function measure(fn) {
  for (let i = 0; i < 3; i++) fn(); // warm-up (JIT)
  const slices = 5;
  let best = 0;
  for (let s = 0; s < slices; s++) {
    let n = 0;
    const start = cpu();
    const limit = (seconds * 1e6) / slices;
    let elapsed = 0;
    do {
      fn();
      n++;
      elapsed = cpu() - start;
    } while (elapsed < limit);
    best = Math.max(best, (n * 1e6) / elapsed);
  }
  return best;
}

const out = {
  pedersen: measure(() => stark.pedersen(a, b)),
  poseidon_pair: measure(() => stark.poseidonHash(a, b)),
  poseidon_many_10: measure(() => stark.poseidonHashMany(ten)),
  sign: measure(() => stark.sign(msg, priv)),
  verify: measure(() => stark.verify(sig, msg, pub)),
  public_key: measure(() => stark.getStarkKey(priv)),
};
process.stdout.write(JSON.stringify(out) + '\n');
