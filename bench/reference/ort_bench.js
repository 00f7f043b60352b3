#!/usr/bin/env node
// ONNX Runtime peer of the engine benchmark (onnxruntime-node, CPU execution provider).
//
//   node bench/reference/ort_bench.js --model M.onnx --threads 2 [--batches 1,8] [--size 224]
//        [--warmup 1] [--min-iters 3] [--budget 6] [--max-call 60]
//   node bench/reference/ort_bench.js --model M.onnx --run-npy in.npy --out-prefix P
//        (correctness: runs one input, writes P.<output>.npy for every output)
//
// Timing: per batch size, `warmup` untimed runs, then timed runs until at least `min-iters` runs
// and `budget` seconds; images/s = batch / median run time. Last line: one JSON object.
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
  const here = __dirname;
  const candidates = [
    process.env.VF_ORT_NODE,
    path.join(here, '..', '..', 'tools', 'node', 'node_modules', 'onnxruntime-node'),
    'onnxruntime-node',
  ].filter(Boolean);
  for (const c of candidates) {
    try { return require(c); } catch (e) { /* try the next */ }
  }
  throw new Error('onnxruntime-node not found: run scripts/install-node-tools.sh');
}

function parseArgs(argv) {
  const a = { threads: 2, batches: '1,8', size: 224, warmup: 1, minIters: 3, budget: 6, maxCall: 60 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--help' || k === '-h') { a.help = true; }
    else if (k === '--model') a.model = v();
    else if (k === '--threads') a.threads = parseInt(v(), 10);
    else if (k === '--batches') a.batches = v();
    else if (k === '--size') a.size = parseInt(v(), 10);
    else if (k === '--warmup') a.warmup = parseInt(v(), 10);
    else if (k === '--min-iters') a.minIters = parseInt(v(), 10);
    else if (k === '--budget') a.budget = parseFloat(v());
    else if (k === '--max-call') a.maxCall = parseFloat(v());
    else if (k === '--run-npy') a.runNpy = v();
    else if (k === '--out-prefix') a.outPrefix = v();
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

// Minimal .npy (v1/v2, little-endian float32, C order) reader and writer.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: expected dtype <f4`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: fortran order unsupported`);
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').map(s => s.trim()).filter(Boolean).map(Number);
  const off = hstart + hlen;
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
  return { shape, data };
}

function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1; h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), body]));
}

// Deterministic standard-normal input (the values do not affect speed).
function randomInput(n, seed) {
  let s = seed >>> 0;
  const u = () => { s = (s * 1664525 + 1013904223) >>> 0; return (s + 1) / 4294967297; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help || !args.model) {
    console.log('usage: node bench/reference/ort_bench.js --model M.onnx [--threads N] [--batches 1,8] ' +
                '[--size 224] [--warmup 1] [--min-iters 3] [--budget SECONDS] [--max-call SECONDS] | --run-npy IN.npy --out-prefix P');
    process.exit(args.help ? 0 : 2);
  }
  if (!fs.existsSync(args.model)) throw new Error(`${args.model}: no such file`);
  const ort = loadOrt();
  const opts = {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  const session = await ort.InferenceSession.create(args.model, opts);
  const inputName = session.inputNames[0];

  if (args.runNpy) {
    const x = readNpy(args.runNpy);
    const out = await session.run({ [inputName]: new ort.Tensor('float32', x.data, x.shape) });
    for (const name of session.outputNames) {
      writeNpy(`${args.outPrefix}.${name}.npy`, out[name].dims, out[name].data);
    }
    console.log(JSON.stringify({ ran: args.runNpy, outputs: session.outputNames }));
    return;
  }

  const results = {};
  let perImage = 0;  // from the previous batch size: skip batch sizes that would take too long
  for (const b of args.batches.split(',').map(Number)) {
    if (perImage * b > args.maxCall) {
      results[b] = { batch: b, skipped: `estimated ${(perImage * b).toFixed(1)} s per call > --max-call` };
      console.log(`ort_fp32 batch ${b}: skipped (estimated ${(perImage * b).toFixed(1)} s per call)`);
      continue;
    }
    const shape = [b, 3, args.size, args.size];
    const feed = { [inputName]: new ort.Tensor('float32', randomInput(shape.reduce((x, y) => x * y, 1), 7), shape) };
    for (let i = 0; i < args.warmup; i++) await session.run(feed);
    const times = [];
    const t0 = process.hrtime.bigint();
    for (;;) {
      const s = process.hrtime.bigint();
      await session.run(feed);
      const e = process.hrtime.bigint();
      times.push(Number(e - s) / 1e9);
      const elapsed = Number(e - t0) / 1e9;
      if (times.length >= args.minIters && elapsed >= args.budget) break;
    }
    const med = median(times);
    perImage = med / b;
    results[b] = { batch: b, iters: times.length, median_s: med, best_s: Math.min(...times),
                   images_per_s: b / med };
    console.log(`ort_fp32 batch ${b}: ${(b / med).toFixed(3)} images/s (median of ${times.length}, ` +
                `best ${(b / Math.min(...times)).toFixed(3)})`);
  }
  console.log(JSON.stringify({ engine: 'ort_fp32', version: ort.env.versions.node || '', threads: args.threads,
                               results }));
}

main().catch(e => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
