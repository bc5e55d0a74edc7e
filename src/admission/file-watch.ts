/**
 * Notices when files change on disk, by reading them on an interval and comparing contents.
 * Polling, not fs.watch: Kubernetes updates a mounted Secret or ConfigMap by swapping a symlink
 * (..data), which inotify watches on the file itself miss; cert-manager renewals and ConfigMap
 * edits arrive that way. Each read resolves the path afresh, so it sees one version whole.
 */
import { open } from 'node:fs/promises'

export interface FileWatch {
  /** Reads the files now and calls onChange when they differ from the last read. Resolves when done. */
  check(): Promise<void>
  stop(): void
}

export interface WatchOptions {
  /** A file larger than this is an error, never read whole (default 16 MiB). */
  maxBytes?: number
  /**
   * When a file is missing (ENOENT), read again once after this many ms before calling it an
   * error: a read can race the kubelet removing the previous version's directory (default 0: no retry).
   */
  retryMissingMs?: number
}

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024

/** Reads a whole file of at most `maxBytes`; a larger one is an error that says so. Linear in the size. */
export async function readCapped(path: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<Buffer> {
  const fh = await open(path, 'r')
  try {
    // The size from stat is a hint only: a file being rewritten may grow while it is read.
    let buf = Buffer.alloc(Math.min(maxBytes + 1, (await fh.stat()).size + 1))
    let n = 0
    for (;;) {
      if (n === buf.length) {
        if (n > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes; refused`)
        const grown = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2))
        buf.copy(grown)
        buf = grown
      }
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null)
      if (bytesRead === 0) return buf.subarray(0, n)
      n += bytesRead
    }
  } finally {
    await fh.close()
  }
}

export function watchFiles(
  paths: readonly string[],
  intervalMs: number,
  initial: readonly Buffer[],
  onChange: (contents: Buffer[]) => Promise<void> | void,
  onError: (err: unknown) => void,
  options: WatchOptions = {},
): FileWatch {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES
  const retryMissingMs = options.retryMissingMs ?? 0
  let last = initial
  let running: Promise<void> | undefined
  const readAll = (): Promise<Buffer[]> => Promise.all(paths.map((p) => readCapped(p, maxBytes)))
  const check = async (): Promise<void> => {
    if (running !== undefined) return running
    running = (async () => {
      try {
        let now: Buffer[]
        try {
          now = await readAll()
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || retryMissingMs <= 0) throw err
          await new Promise((resolve) => setTimeout(resolve, retryMissingMs))
          now = await readAll()
        }
        const changed = now.some((b, i) => {
          const before = last[i]
          return before === undefined || !b.equals(before)
        })
        if (!changed) return
        // Remembered before onChange: a version that onChange refuses is refused once, not at every poll.
        last = now
        await onChange(now)
      } catch (err) {
        onError(err)
      }
    })().finally(() => {
      running = undefined
    })
    return running
  }
  const timer = intervalMs > 0 ? setInterval(() => void check(), intervalMs) : undefined
  timer?.unref()
  return {
    check,
    stop: () => {
      if (timer !== undefined) clearInterval(timer)
    },
  }
}
