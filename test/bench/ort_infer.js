#!/usr/bin/env node
// Batch-1 inference throughput of ONNX Runtime (the npm package
// onnxruntime-node, CPU execution provider) on one ONNX model, for
// bench_vs_onnxruntime.sh. Benchmarks only: nothing in marsc or its tests
// uses ONNX Runtime.
//
// The model's single input must be float32 with a fixed shape apart from
// its batch, which is 1 or symbolic and is run at 1 (the zoo's CIFAR models:
// Nx3x32x32). N seeded uniform [0, 1) float32 images are made
// before timing; after --warmup untimed runs the N images are run one at a
// time (each run awaited before the next starts), and the wall time of that
// loop is the measurement. Session creation and warm-up are not timed.
//
// With --kernels it also runs one image in a separate session with ONNX
// Runtime's profiler on and reports how many kernels of each op type ran:
// this shows whether a QDQ model ran on integer kernels (QLinearConv, ...)
// or on float kernels between QuantizeLinear/DequantizeLinear pairs.
//
// Usage: node ort_infer.js --ort PKG_DIR MODEL [--threads T] [--images N]
//                          [--warmup W] [--seed S] [--kernels]
// Prints one JSON object: {images, seconds, images_per_second, version,
// threads, input, shape[, kernels]}. Exit 1 with a message on stderr when
// the model cannot be loaded or run.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

function usage(message) {
  process.stderr.write(`ort_infer.js: ${message}\n` +
    'usage: node ort_infer.js --ort PKG_DIR MODEL [--threads T] [--images N] ' +
    '[--warmup W] [--seed S] [--kernels]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = {ort: '', model: '', threads: 1, images: 50, warmup: 3, seed: 1,
             kernels: false};
  const int = (name, v, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      usage(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length)
        usage(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--ort') a.ort = next();
    else if (k === '--threads') a.threads = int(k, next(), 1);
    else if (k === '--images') a.images = int(k, next(), 1);
    else if (k === '--warmup') a.warmup = int(k, next(), 0);
    else if (k === '--seed') a.seed = int(k, next(), 0);
    else if (k === '--kernels') a.kernels = true;
    else if (k.startsWith('-')) usage(`unknown option ${k}`);
    else if (!a.model) a.model = k;
    else usage(`unexpected argument ${k}`);
  }
  if (!a.ort) usage('--ort PKG_DIR is required');
  if (!a.model) usage('MODEL is required');
  return a;
}

/// mulberry32: a small seeded generator, so every run feeds the same pixels.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sessionOptions(threads) {
  return {intraOpNumThreads: threads, interOpNumThreads: 1,
          executionProviders: ['cpu'], graphOptimizationLevel: 'all'};
}

/// The one input's name and shape, checked: float32, fixed apart from a
/// batch of 1 or symbolic (then 1).
function inputOf(ort, session) {
  if (session.inputNames.length !== 1)
    throw new Error(`the model has ${session.inputNames.length} inputs, ` +
                    'expected one');
  const name = session.inputNames[0];
  const meta = (session.inputMetadata || []).find((m) => m.name === name);
  if (!meta || !meta.shape)
    throw new Error(`ONNX Runtime ${ort.env.versions.node} does not report ` +
                    `the shape of input '${name}'`);
  // A symbolic batch (a string such as 'N') is run at batch 1.
  const shape = meta.shape.map((d, i) =>
      i === 0 && typeof d === 'string' ? 1 : d);
  if (meta.type !== 'float32' ||
      !shape.every((d) => typeof d === 'number' && d > 0) || shape[0] !== 1)
    throw new Error(`input '${name}' is ${meta.type}` +
                    `[${meta.shape.join(',')}], expected float32 with a ` +
                    'fixed shape and batch 1 or symbolic');
  return {name, shape};
}

/// Kernel counts per op type of one profiled run.
async function kernelCounts(ort, model, threads, feeds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort_infer-'));
  try {
    const session = await ort.InferenceSession.create(model, {
      ...sessionOptions(threads), enableProfiling: true,
      profileFilePrefix: path.join(dir, 'profile')});
    await session.run(feeds);
    session.endProfiling();
    await session.release();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    if (files.length !== 1)
      throw new Error(`expected one profile in ${dir}, found ${files.length}`);
    const events = JSON.parse(fs.readFileSync(path.join(dir, files[0])));
    const counts = {};
    for (const e of events)
      if (e.cat === 'Node' && e.name.endsWith('_kernel_time'))
        counts[e.args.op_name] = (counts[e.args.op_name] || 0) + 1;
    return counts;
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = require(path.resolve(a.ort));
  const session =
      await ort.InferenceSession.create(a.model, sessionOptions(a.threads));
  const input = inputOf(ort, session);
  const size = input.shape.reduce((x, y) => x * y, 1);
  const next = rng(a.seed);
  const feeds = [];
  for (let i = 0; i < a.images; ++i) {
    const data = new Float32Array(size);
    for (let j = 0; j < size; ++j)
      data[j] = next();
    feeds.push({[input.name]: new ort.Tensor('float32', data, input.shape)});
  }
  for (let i = 0; i < a.warmup; ++i)
    await session.run(feeds[i % feeds.length]);
  const start = process.hrtime.bigint();
  for (const f of feeds)
    await session.run(f);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await session.release();
  const result = {images: a.images, seconds,
                  images_per_second: a.images / seconds,
                  version: ort.env.versions.node, threads: a.threads,
                  input: input.name, shape: input.shape};
  if (a.kernels)
    result.kernels = await kernelCounts(ort, a.model, a.threads, feeds[0]);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_infer.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
