/**
 * manifests/ is what `pod-preflight install` renders: the files on disk are the generated ones,
 * and `kubectl kustomize` of the base and of every overlay gives exactly the objects `install`
 * gives with the overlay's flags.
 */
import t from 'tap'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseAllDocuments } from 'yaml'
import { manifestTree, OVERLAYS, renderWith } from '../../src/install/generate.js'

const DIR = new URL('../../manifests/', import.meta.url).pathname

function onDisk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? onDisk(join(dir, e.name)) : [relative(DIR, join(dir, e.name))]))
}

t.test('the files on disk are the generated ones (npm run manifests)', async (t) => {
  const files = await manifestTree()
  t.same(onDisk(DIR).sort(), files.map((f) => f.path).sort(), 'no file missing, none left over')
  for (const f of files) {
    const path = join(DIR, f.path)
    t.equal(existsSync(path) ? readFileSync(path, 'utf8') : '', f.text, `${f.path} is fresh; run npm run manifests`)
  }
})

function key(o: Record<string, any>): string {
  return `${o['apiVersion']}|${o['kind']}|${o['metadata']?.['namespace'] ?? ''}|${o['metadata']?.['name']}`
}

function kustomize(dir: string): Record<string, any>[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`)
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>)
}

function sameObjects(t: { same: (a: unknown, b: unknown, m: string) => unknown }, got: Record<string, any>[], want: Record<string, any>[], what: string): void {
  const byKey = (l: Record<string, any>[]) => new Map(l.map((o) => [key(o), o]))
  t.same([...byKey(got).keys()].sort(), [...byKey(want).keys()].sort(), `${what}: the same objects`)
  const wanted = byKey(want)
  for (const [k, o] of byKey(got)) t.same(o, wanted.get(k), `${what}: ${k}`)
}

t.test('kubectl kustomize of the base and of each overlay equals install', async (t) => {
  sameObjects(t, kustomize(DIR), (await renderWith({})).objects, 'manifests/')
  for (const overlay of OVERLAYS) {
    const want = (await renderWith(overlay.options, overlay.kubeVersion)).objects
    sameObjects(t, kustomize(join(DIR, 'overlays', overlay.name)), want, `overlays/${overlay.name}`)
  }
})
