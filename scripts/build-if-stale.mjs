// Builds (npm run build) only when dist/ is missing or older than a source it is made from:
// `npm start` and `prepare` after `npm ci` then start at once instead of running tsc again.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const OUTPUT = join(root, 'dist/build-info.json')

/** The newest modification time under dir (files only); bounded by the source tree itself. */
function newest(path) {
  const st = statSync(path, { throwIfNoEntry: false })
  if (st === undefined) return 0
  if (!st.isDirectory()) return st.mtimeMs
  let max = 0
  for (const e of readdirSync(path)) max = Math.max(max, newest(join(path, e)))
  return max
}

const built = statSync(OUTPUT, { throwIfNoEntry: false })?.mtimeMs ?? 0
const sources = Math.max(...['src', 'scripts', 'policies', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'].map((p) => newest(join(root, p))))
if (built >= sources) {
  process.stderr.write('dist/ is up to date; not rebuilding (npm run build forces it)\n')
} else {
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
