/**
 * A least-recently-used cache bounded in bytes, not only in entries. Recency is kept the way
 * CLOCK keeps it: a hit marks its entry, and eviction passes over a marked entry once (moving
 * it to the newest end) before it evicts it, so a hit never changes the Map.
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
  private readonly entries = new Map<K, { value: V; bytes: number; used: boolean }>()
  private total = 0

  constructor(private readonly o: ByteBoundedCacheOptions<K, V>) {}

  get(key: K): V | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    // Marked, not moved: moving it (delete and set again) on every hit filled a small Map with
    // deleted slots, and V8 rebuilt the Map's table every few hits. Eviction moves it instead.
    e.used = true
    return e.value
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  /** Keeps the entry when it is small enough; returns whether it was kept. */
  set(key: K, value: V): boolean {
    this.delete(key)
    const bytes = this.o.sizeOf(key, value)
    const maxEntries = this.o.maxEntries ?? Number.POSITIVE_INFINITY
    if (bytes > this.o.maxEntryBytes || bytes > this.o.maxBytes || maxEntries < 1) return false
    // Room is made before the entry goes in, oldest first (a Map keeps insertion order). An
    // entry used since it was stored or last passed here gets a second chance: its mark is
    // cleared and it goes to the newest end, to be visited again only after every other entry.
    // Each visit either evicts an entry or clears its mark, so this ends within twice the entries.
    for (const [k, e] of this.entries) {
      if (this.total + bytes <= this.o.maxBytes && this.entries.size < maxEntries) break
      this.entries.delete(k)
      if (e.used) {
        e.used = false
        this.entries.set(k, e)
      } else {
        this.total -= e.bytes
      }
    }
    this.entries.set(key, { value, bytes, used: false })
    this.total += bytes
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
