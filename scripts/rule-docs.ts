/** Regenerates the rule reference (docs/rules/) and the examples `rules ID` prints (npm run docs). */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ruleDocTree } from './rule-docs-tree.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const files = ruleDocTree()
await rm(join(root, 'docs/rules'), { recursive: true, force: true })
for (const f of files) {
  const path = join(root, f.path)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, f.text)
}
process.stdout.write(`rule reference: ${files.length} files written\n`)
