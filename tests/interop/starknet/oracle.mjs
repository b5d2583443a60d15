// Differential oracle for ciro::blockchain's Stark crypto: reads one JSON request per line on
// stdin, answers one JSON line per request on stdout, in order:
//   {"ok":true,"out":...}  or  {"ok":false,"error":"..."} when @scure/starknet throws.
// Requests: {"op":"pedersen","a":HEX,"b":HEX} | {"op":"poseidon","x":HEX,"y":HEX}
//   | {"op":"poseidon_single","x":HEX} | {"op":"poseidon_many","values":[HEX...]}
//   | {"op":"keccak","data":HEX_BYTES} | {"op":"selector","name":STR} | {"op":"pubkey","priv":HEX}
//   | {"op":"sign","priv":HEX,"hash":HEX} | {"op":"verify","pub":HEX_SEC1,"hash":HEX,"r":HEX,"s":HEX}
// Hex outputs are minimal lowercase "0x..." like the C++ side prints.
import * as stark from '@scure/starknet';
import { createInterface } from 'node:readline';

stark.utils.precompute(8);

const hex = (v) => '0x' + BigInt(v).toString(16);
const bytes = (h) => {
  const s = h.replace(/^0x/i, '');
  return Uint8Array.from(Buffer.from(s.length % 2 ? '0' + s : s, 'hex'));
};

function answer(req) {
  switch (req.op) {
    case 'pedersen':
      return hex(stark.pedersen(req.a, req.b));
    case 'poseidon':
      return hex(stark.poseidonHash(BigInt(req.x), BigInt(req.y)));
    case 'poseidon_single':
      return hex(stark.poseidonHashSingle(BigInt(req.x)));
    case 'poseidon_many':
      return hex(stark.poseidonHashMany(req.values.map((v) => BigInt(v))));
    case 'keccak':
      return hex(stark.keccak(bytes(req.data)));
    case 'selector':
      return hex(stark.keccak(new TextEncoder().encode(req.name)));
    case 'pubkey':
      return hex(stark.getStarkKey(req.priv));
    case 'sign': {
      const sig = stark.sign(req.hash, req.priv);
      return { r: hex(sig.r), s: hex(sig.s) };
    }
    case 'verify': {
      const sig = new stark.Signature(BigInt(req.r), BigInt(req.s));
      return stark.verify(sig, req.hash, req.pub);
    }
    default:
      throw new Error('unknown op ' + req.op);
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of rl) {
  if (!line.trim()) continue;
  let res;
  try {
    res = { ok: true, out: answer(JSON.parse(line)) };
  } catch (e) {
    res = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  out.push(JSON.stringify(res));
  if (out.length >= 256) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
