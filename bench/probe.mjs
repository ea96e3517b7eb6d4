/**
 * Measuring helpers: free ports, gRPC health polling over raw HTTP/2 (no
 * client reconnect back-off to distort start-up times), Prometheus scraping,
 * and /proc CPU / peak-RSS readings.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** A port free right now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const HEALTH_REQUEST = Buffer.from([0, 0, 0, 0, 0]); // gRPC frame of an empty HealthCheckRequest (service '')
const STATUS_NAMES = { 0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN' };

/** One grpc.health.v1.Health/Check; resolves the status name, rejects on connection errors. */
export function healthCheck(port) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const fail = (error) => {
      session.destroy();
      reject(error);
    };
    session.once('error', fail);
    const req = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    req.once('error', fail);
    const chunks = [];
    let grpcStatus;
    req.on('trailers', (t) => (grpcStatus = t['grpc-status']));
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = h['grpc-status'];
    });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      session.close();
      if (grpcStatus !== undefined && grpcStatus !== '0') return resolve(`grpc-status ${grpcStatus}`);
      const body = Buffer.concat(chunks).subarray(5); // HealthCheckResponse: field 1 varint
      const status = body.length >= 2 && body[0] === 0x08 ? body[1] : 0;
      resolve(STATUS_NAMES[status] ?? String(status));
    });
    req.end(HEALTH_REQUEST);
  });
}

/**
 * Polls health every `intervalMs` until SERVING. Returns the statuses seen in
 * order (deduplicated), e.g. ['refused', 'NOT_SERVING', 'SERVING'].
 * Rejects when `exited()` returns a reason or after `timeoutMs`.
 */
export async function waitServing(port, { exited, timeoutMs = 60_000, intervalMs = 5 } = {}) {
  const seen = [];
  const note = (s) => {
    if (seen[seen.length - 1] !== s) seen.push(s);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = exited?.();
    if (why) throw new Error(why);
    try {
      const status = await healthCheck(port);
      note(status);
      if (status === 'SERVING') return seen;
    } catch {
      note('refused');
    }
    if (Date.now() > deadline) throw new Error(`not SERVING after ${timeoutMs} ms (seen: ${seen.join(' -> ')})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** GET a URL's body as text. */
export function httpGet(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${text.slice(0, 200)}`));
          else resolve(text);
        });
      })
      .on('error', reject);
  });
}

/** Parses Prometheus text into [{name, labels, value}]. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `match`. */
export function sumMetric(samples, name, match = {}) {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

let clockTicks;
/** CPU time (user + system) of a process, in milliseconds, from /proc/<pid>/stat. */
export function cpuMs(pid) {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ": state is field 3, utime field 14, stime field 15 -> indexes 11, 12
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** Peak resident set size (VmHWM) of a process, in MiB. */
export function peakRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** p-th percentile (0..100) of numbers, nearest-rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}
