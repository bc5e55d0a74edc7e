/** Regenerates manifests/ from what `pod-preflight install` renders (npm run manifests). */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { manifestTree } from '../src/install/generate.js'

const dir = fileURLToPath(new URL('../manifests/', import.meta.url))
const files = await manifestTree()
for (const generated of ['base', 'overlays', 'audit', 'kustomization.yaml']) await rm(join(dir, generated), { recursive: true, force: true })
for (const f of files) {
  const path = join(dir, f.path)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, f.text)
}
process.stdout.write(`manifests/: ${files.length} files written\n`)
