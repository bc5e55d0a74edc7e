/**
 * A least-recently-used cache bounded in bytes, not only in entries.
 *
 * Counting entries bounds nothing when one entry can be a megabyte: a cache of 512 parsed
 * scripts holds 512 KiB or 16 GiB depending on who sends them. Here every entry has an
 * estimated size (`sizeOf`, in bytes of heap), an entry larger than `maxEntryBytes` is never
 * kept, and the oldest entries go once the total passes `maxBytes`. Estimates err high: two
 * bytes per character of a string plus a fixed overhead per object.
 */
export interface ByteBoundedCacheOptions<K, V> {
  /** Total estimated bytes the cache may hold. */
  maxBytes: number
  /** Largest single entry it keeps; larger ones are computed and returned, never stored. */
  maxEntryBytes: number
  /** At most this many entries, whatever their size (default: no count limit). */
  maxEntries?: number
  /** Estimated heap bytes of an entry, key included. */
  sizeOf(key: K, value: V): number
}

export class ByteBoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>()
  private total = 0

  constructor(private readonly o: ByteBoundedCacheOptions<K, V>) {}

  get(key: K): V | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key)
    this.entries.set(key, e)
    return e.value
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  /** Keeps the entry when it is small enough; returns whether it was kept. */
  set(key: K, value: V): boolean {
    this.delete(key)
    const bytes = this.o.sizeOf(key, value)
    if (bytes > this.o.maxEntryBytes || bytes > this.o.maxBytes) return false
    this.entries.set(key, { value, bytes })
    this.total += bytes
    const maxEntries = this.o.maxEntries ?? Number.POSITIVE_INFINITY
    for (const [k, e] of this.entries) {
      if (this.total <= this.o.maxBytes && this.entries.size <= maxEntries) break
      this.entries.delete(k)
      this.total -= e.bytes
    }
    return true
  }

  delete(key: K): void {
    const e = this.entries.get(key)
    if (e === undefined) return
    this.entries.delete(key)
    this.total -= e.bytes
  }

  clear(): void {
    this.entries.clear()
    this.total = 0
  }

  get size(): number {
    return this.entries.size
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.total
  }
}

/** Estimated heap bytes of a string: two per UTF-16 unit plus the header. */
export function stringBytes(s: string): number {
  return 24 + 2 * s.length
}
