/**
 * Measurements shared by every peer: latency samples, CPU time of this (client) process and of a
 * server process, and number formatting for the tables.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Growable list of latency samples in ms. */
export class Samples {
  private values = new Float64Array(1 << 16);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  /** Nearest-rank percentile, `q` in [0, 1]; NaN without samples. */
  percentile(q: number): number {
    if (this.length === 0) return NaN;
    const sorted = this.values.slice(0, this.length).sort();
    return sorted[Math.min(this.length - 1, Math.ceil(q * this.length) - 1)]!;
  }
}

const CLOCK_TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** utime + stime of a process (all its threads), in µs, from /proc/<pid>/stat. */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLOCK_TICKS_PER_SEC;
}

export interface CpuWindow {
  /** µs of CPU since the window opened: this process, and the server. */
  end(): { clientMicros: number; serverMicros: number };
}

export function cpuWindow(serverPid: number): CpuWindow {
  const client = process.cpuUsage();
  const server = processCpuMicros(serverPid);
  return {
    end() {
      const used = process.cpuUsage(client);
      return { clientMicros: used.user + used.system, serverMicros: processCpuMicros(serverPid) - server };
    },
  };
}

export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : `${(n / 1e3).toFixed(1)}k`;
}

export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function fmtRatio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}x` : '-';
}
