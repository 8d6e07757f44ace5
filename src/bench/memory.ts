/**
 * Peak resident memory of a phase of work. Node has no memory API beyond the current RSS (which includes
 * onnxruntime's native memory), so two sources are combined:
 *  - VmHWM from /proc/self/status (Linux), the kernel's exact high-water mark, reset at the start of the
 *    phase by writing 5 to /proc/self/clear_refs;
 *  - process.memoryUsage.rss() sampled on a timer and at every call to sample(), where /proc is missing
 *    or the high-water mark cannot be reset (the samples miss peaks inside one synchronous run).
 */
import fs from 'node:fs';

export interface MemoryReading {
  /** Resident memory when the phase began. */
  readonly rssBeforeBytes: number;
  /** Most resident memory during the phase. */
  readonly peakRssBytes: number;
  /** peakRssBytes − rssBeforeBytes: what the phase added. */
  readonly peakDeltaBytes: number;
  readonly source: 'VmHWM' | 'sampled';
}

export class MemoryProbe {
  private before = 0;
  private peak = 0;
  private exact = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 10) {}

  begin(): void {
    this.exact = resetHighWaterMark();
    this.before = process.memoryUsage.rss();
    this.peak = this.before;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  /** The reading so far; the probe keeps sampling until end(). */
  read(): MemoryReading {
    this.sample();
    const hwm = this.exact ? statusBytes('VmHWM') : undefined;
    const peak = Math.max(this.peak, hwm ?? 0);
    return { rssBeforeBytes: this.before, peakRssBytes: peak, peakDeltaBytes: Math.max(0, peak - this.before), source: hwm === undefined ? 'sampled' : 'VmHWM' };
  }

  end(): MemoryReading {
    const reading = this.read();
    clearInterval(this.timer);
    this.timer = undefined;
    return reading;
  }
}

/** Resets the kernel's high-water mark to the current RSS; false where that is not possible. */
function resetHighWaterMark(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return statusBytes('VmHWM') !== undefined;
  } catch {
    return false;
  }
}

function statusBytes(key: string): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
