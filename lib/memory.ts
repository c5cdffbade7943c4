import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'

export interface MemoryRecord {
  /** Resident set size, bytes. */
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
  arrayBuffers: number
  heapSizeLimit: number
  mallocedMemory: number
  peakMallocedMemory: number
  /** Garbage collections since telemetry started. */
  gcCycles: number
  /** Total garbage collection pause since telemetry started, milliseconds. */
  gcPauseMs: number
}

/** Counts garbage collections through the `gc` performance entries Node emits; no flags needed. */
export class GcObserver {
  cycles = 0
  pauseMs = 0
  private observer: PerformanceObserver | null = null

  start (): void {
    if (this.observer !== null) return
    this.observer = new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        this.cycles++
        this.pauseMs += entry.duration
      }
    })
    this.observer.observe({ entryTypes: ['gc'] })
  }

  stop (): void {
    this.observer?.disconnect()
    this.observer = null
  }
}

export function memoryRecord (gc: GcObserver): MemoryRecord {
  const usage = process.memoryUsage()
  const heap = getHeapStatistics()
  return {
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    heapSizeLimit: heap.heap_size_limit,
    mallocedMemory: heap.malloced_memory,
    peakMallocedMemory: heap.peak_malloced_memory,
    gcCycles: gc.cycles,
    gcPauseMs: Math.round(gc.pauseMs * 1000) / 1000
  }
}
