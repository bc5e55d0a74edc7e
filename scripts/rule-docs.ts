/**
 * Regenerates the rule reference (docs/rules/), the examples `rules ID` prints and the README's
 * table of every command's options (npm run docs).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ruleDocTree } from './rule-docs-tree.js'
import { optionsTable, replaceTable } from './cli-options-table.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const files = ruleDocTree()
await rm(join(root, 'docs/rules'), { recursive: true, force: true })
for (const f of files) {
  const path = join(root, f.path)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, f.text)
}
process.stdout.write(`rule reference: ${files.length} files written\n`)
const readme = join(root, 'README.md')
await writeFile(readme, replaceTable(await readFile(readme, 'utf8'), await optionsTable()))
process.stdout.write('README.md: options table written\n')
