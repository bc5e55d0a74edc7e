// Writes dist/build-info.json: the commit this build comes from and when it was built.
// Outside a git checkout (a build from the npm tarball) the commit is left out.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'

export function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== ''
    return /^[0-9a-f]+$/.test(commit) ? `${commit}${dirty ? '-dirty' : ''}` : undefined
  } catch {
    return undefined
  }
}

export function buildInfo() {
  const commit = gitCommit()
  return { ...(commit !== undefined ? { commit } : {}), date: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync('dist', { recursive: true })
  writeFileSync('dist/build-info.json', `${JSON.stringify(buildInfo())}\n`)
}
