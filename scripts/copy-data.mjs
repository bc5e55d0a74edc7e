// Copies the data files the code reads at run time into dist/ (tsc copies only what is imported):
// the Kubernetes schemas of the schema check, src/schema/data/*.json.
import { cpSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
for (const dir of ['schema/data']) {
  const from = join(root, 'src', dir)
  const to = join(root, 'dist', dir)
  mkdirSync(to, { recursive: true })
  for (const f of readdirSync(from)) if (f.endsWith('.json')) cpSync(join(from, f), join(to, f))
}
