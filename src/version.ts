import { readFileSync } from 'node:fs'

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version
  } catch {
    // fall through: a build without package.json beside it
  }
  return '0.0.0'
}

/** Set by the single-executable build (scripts/build-sea.mjs), where no package.json lies beside the code. */
declare const __POD_PREFLIGHT_BUILD__: { version?: string } | undefined

export const version = typeof __POD_PREFLIGHT_BUILD__ !== 'undefined' && typeof __POD_PREFLIGHT_BUILD__.version === 'string' ? __POD_PREFLIGHT_BUILD__.version : readVersion()
