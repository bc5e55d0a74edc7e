import { readdir, stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { join, extname } from 'node:path'
import { byCodeUnits } from '../text/order.js'

/** File name extensions read from a directory; a file named explicitly is read whatever its name. */
export const MANIFEST_EXTENSIONS: ReadonlySet<string> = new Set(['.yaml', '.yml', '.json'])

/** A manifest file found by the walk: where it was reached, and its identity on disk. */
export interface WalkedFile {
  /** The absolute path through which the file was first reached (links are not resolved). */
  path: string
  stats: Stats
}

/** Directories no walk enters: version control and package caches never hold manifests to check. */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(['.git', 'node_modules'])

export interface WalkOptions {
  /**
   * Asked for every directory below the root (and the root itself) with the names it holds,
   * before any of them is looked at: 'skip' leaves the whole directory out (a Helm chart or a
   * kustomization handled as one unit, an --exclude match).
   */
  directory?(path: string, names: readonly string[]): 'walk' | 'skip'
  /** Whether a manifest-named file is kept (--include / --exclude). */
  file?(path: string): boolean
}

export interface WalkProblem {
  path: string
  message: string
}

/**
 * What one run has already visited, by device and inode: a file reached again through a
 * symbolic link, a hard link or a second argument is read once, and a directory reached again
 * (a link to an ancestor, `loop.yaml -> .`) is not listed again, which is what ends a loop.
 */
export class WalkMemory {
  readonly #seen = new Set<string>()

  /** True the first time this object is met, false after. */
  first(st: Stats): boolean {
    const key = `${st.dev}:${st.ino}`
    if (this.#seen.has(key)) return false
    this.#seen.add(key)
    return true
  }
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err)
}

/**
 * Lists the regular manifest files (`*.yaml`, `*.yml`, `*.json`; hidden entries and
 * node_modules skipped, and whatever `options` leaves out) under a directory, depth first in name order. Symbolic links are followed, to files and to
 * directories; every real directory is listed and every real file returned at most once per
 * run (`memory`), so a link loop ends and a linked file is not read twice. Linear in the number
 * of directory entries reachable; nothing is read but directory listings and file metadata.
 *
 * A broken link or an unreadable directory is a problem naming the path; the walk goes on.
 */
export async function walkManifestDirectory(root: string, memory: WalkMemory, options: WalkOptions = {}): Promise<{ files: WalkedFile[]; problems: WalkProblem[] }> {
  const files: WalkedFile[] = []
  const problems: WalkProblem[] = []
  const visit = async (dir: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      problems.push({ path: dir, message: `cannot list directory: ${errorCode(err)}` })
      return
    }
    entries.sort((a, b) => byCodeUnits(a.name, b.name))
    if (options.directory !== undefined && options.directory(dir, entries.map((e) => e.name)) === 'skip') return
    for (const e of entries) {
      if (e.name.startsWith('.') || SKIPPED_DIRECTORIES.has(e.name)) continue
      const isManifestName = MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())
      // Only directories and manifest-named entries (or links, which may lead to a directory)
      // are looked at; other files are not even stat'ed.
      if (!e.isDirectory() && !e.isSymbolicLink() && !isManifestName) continue
      const child = join(dir, e.name)
      let st: Stats
      try {
        st = await stat(child)
      } catch (err) {
        const code = errorCode(err)
        // A link that leads nowhere is only worth a word when it looks like a manifest.
        if (isManifestName || !e.isSymbolicLink()) {
          problems.push({ path: child, message: code === 'ENOENT' ? 'broken symbolic link' : code === 'ELOOP' ? 'symbolic link loop' : `cannot read: ${code}` })
        }
        continue
      }
      if (st.isDirectory()) {
        if (memory.first(st)) await visit(child)
      } else if (isManifestName && st.isFile() && (options.file === undefined || options.file(child)) && memory.first(st)) {
        files.push({ path: child, stats: st })
      }
    }
  }
  try {
    if (memory.first(await stat(root))) await visit(root)
  } catch (err) {
    problems.push({ path: root, message: `cannot read: ${errorCode(err)}` })
  }
  return { files, problems }
}
