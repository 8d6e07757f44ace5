/** Memory figures of the current process from /proc (Linux): peak and current resident set size. */
import fs from 'node:fs';

export interface MemoryFigures {
  /** VmHWM: the most resident memory this process ever had (bytes). */
  readonly peakRss: number;
  /** VmRSS now (bytes). */
  readonly rss: number;
}

export function memoryFigures(): MemoryFigures {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    // Without /proc (not Linux) fall back to the current figure from Node.
    return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
  };
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS') };
}
