'use strict';
// Statistics shared by the interleaved benchmarks (bench/run.js, bench/peers/run.js).
const fs = require('node:fs');

/** Machine-wide CPU seconds: busy (everything but idle and iowait; steal counts as busy) and wall time. */
function cpuTimes() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  const hz = 100; // USER_HZ
  return { busy: (user + nice + system + irq + softirq + (steal || 0)) / hz, wall: Date.now() / 1000 };
}

const quantile = (sorted, p) => sorted[Math.round(p * (sorted.length - 1))];
const median = (xs) => quantile(Float64Array.from(xs).sort(), 0.5);

/** Pools measurement slices ({n, elapsed_s, cpu_s, lat?}): runs/s, CPU per run, latency quantiles, slice ranges. */
function aggregate(slices) {
  const n = slices.reduce((a, s) => a + s.n, 0);
  const elapsed = slices.reduce((a, s) => a + s.elapsed_s, 0);
  const cpu = slices.reduce((a, s) => a + s.cpu_s, 0);
  const row = { n, slices: slices.length, runs_per_s: n / elapsed, cpu_us_per_run: (cpu / n) * 1e6 };
  const perSlice = slices.map((s) => s.n / s.elapsed_s);
  row.slice_runs_per_s = { min: Math.min(...perSlice), median: median(perSlice), max: Math.max(...perSlice) };
  if (slices[0].lat) {
    const all = Float64Array.from(slices.flatMap((s) => s.lat)).sort();
    Object.assign(row, {
      median_us: quantile(all, 0.5),
      p10_us: quantile(all, 0.1),
      p90_us: quantile(all, 0.9),
      mean_us: all.reduce((a, b) => a + b, 0) / all.length,
    });
    const sliceMedians = slices.map((s) => median(s.lat));
    row.slice_median_us = { min: Math.min(...sliceMedians), median: median(sliceMedians), max: Math.max(...sliceMedians) };
  }
  return row;
}

const now = () => Number(process.hrtime.bigint()) / 1e3; // µs
const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}; // s, all threads of this process

// Sequential runs of `once` for `seconds` after `warmup`, each timed. `sync`: no await between runs.
async function sequential(id, once, sync, seconds, warmup) {
  const warmEnd = now() + warmup * 1e6;
  while (now() < warmEnd) {
    if (sync) once();
    else await once();
  }
  const lat = [];
  const cpu0 = cpuNow();
  const start = now();
  const end = start + seconds * 1e6;
  let t0 = start;
  let t1;
  if (sync) {
    do {
      once();
      t1 = now();
      lat.push(t1 - t0);
      t0 = t1;
    } while (t1 < end);
  } else {
    do {
      await once();
      t1 = now();
      lat.push(t1 - t0);
      t0 = t1;
    } while (t1 < end);
  }
  return { id, n: lat.length, elapsed_s: (t1 - start) / 1e6, cpu_s: cpuNow() - cpu0, lat: lat.map((v) => Math.round(v * 100) / 100) };
}

const fmt = (v, digits = 1) => (v === undefined || v === null || Number.isNaN(v) ? '—' : Number(v).toFixed(digits));

module.exports = { cpuTimes, quantile, median, aggregate, fmt, now, cpuNow, sequential };
