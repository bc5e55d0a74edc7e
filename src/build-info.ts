import { readFileSync } from 'node:fs'
import { version } from './version.js'

/**
 * What this build is: version, the commit it was built from and when, and how it is packaged.
 * `npm run build` writes dist/build-info.json; the single-executable bundle has it compiled in.
 */
export interface BuildInfo {
  version: string
  commit?: string
  date?: string
  /** 'npm' (dist/ with node_modules), 'single-executable', or 'source' (run from src/ with tsx). */
  kind: 'npm' | 'single-executable' | 'source'
  node: string
  platform: string
}

declare const __POD_PREFLIGHT_BUILD__: { commit?: string; date?: string } | undefined

function fromFile(): { commit?: string; date?: string; found: boolean } {
  try {
    const raw: unknown = JSON.parse(readFileSync(new URL('./build-info.json', import.meta.url), 'utf8'))
    if (typeof raw !== 'object' || raw === null) return { found: false }
    const r = raw as Record<string, unknown>
    return {
      found: true,
      ...(typeof r['commit'] === 'string' ? { commit: r['commit'] } : {}),
      ...(typeof r['date'] === 'string' ? { date: r['date'] } : {}),
    }
  } catch {
    return { found: false }
  }
}

export function buildInfo(): BuildInfo {
  const base = { version, node: process.version, platform: `${process.platform}/${process.arch}` }
  if (typeof __POD_PREFLIGHT_BUILD__ !== 'undefined') return { ...base, ...__POD_PREFLIGHT_BUILD__, kind: 'single-executable' }
  const f = fromFile()
  return { ...base, ...(f.commit !== undefined ? { commit: f.commit } : {}), ...(f.date !== undefined ? { date: f.date } : {}), kind: f.found ? 'npm' : 'source' }
}
