// CPU time and memory of a process by pid, read from Linux's /proc, so every process the
// benchmark measures (Gatehouse, Portkey, the fake upstream) is measured the same way, whatever
// it runs. CPU comes in clock ticks (1/CLK_TCK s, 10 ms here): compare over thousands of requests.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessSample {
  /** User + system CPU time since the process started, milliseconds. */
  cpuMs: number;
  /** Resident set size now, bytes. */
  rssBytes: number;
  /** The highest resident set size since the process started (VmHWM), bytes. */
  peakRssBytes: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

function statusKilobytes(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuMs: (ticks * 1000) / clockTicks(), rssBytes: statusKilobytes(status, 'VmRSS'), peakRssBytes: statusKilobytes(status, 'VmHWM') };
}

export function megabytes(bytes: number): number {
  return Math.round(bytes / 1024 / 102.4) / 10;
}
