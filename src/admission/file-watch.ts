/**
 * Notices when files change on disk, by reading them on an interval and comparing contents.
 * Polling, not fs.watch: Kubernetes updates a mounted Secret by swapping a symlink
 * (..data), which inotify watches on the file itself miss; cert-manager renewals arrive that way.
 */
import { readFile } from 'node:fs/promises'

export interface FileWatch {
  /** Reads the files now and calls onChange when they differ from the last read. Resolves when done. */
  check(): Promise<void>
  stop(): void
}

export function watchFiles(
  paths: readonly string[],
  intervalMs: number,
  initial: readonly Buffer[],
  onChange: (contents: Buffer[]) => Promise<void> | void,
  onError: (err: unknown) => void,
): FileWatch {
  let last = initial
  let running: Promise<void> | undefined
  const check = async (): Promise<void> => {
    if (running !== undefined) return running
    running = (async () => {
      try {
        const now = await Promise.all(paths.map((p) => readFile(p)))
        const changed = now.some((b, i) => {
          const before = last[i]
          return before === undefined || !b.equals(before)
        })
        if (!changed) return
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
