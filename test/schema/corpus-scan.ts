/**
 * The schema check over the peer corpus (../shared/corpus, or POD_PREFLIGHT_CORPUS): every
 * document it judges, with the issues it finds. Shared by the corpus test and by whoever
 * reviews the list of refused documents (node --import=tsx test/schema/corpus-scan.ts prints it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocuments } from '../../src/input/documents.js'
import { formatPath } from '../../src/input/field-path.js'
import { kubernetesSchemas } from '../../src/schema/kubernetes.js'

export const CORPUS = process.env['POD_PREFLIGHT_CORPUS'] ?? fileURLToPath(new URL('../../../shared/corpus', import.meta.url))

export interface ScannedDocument {
  /** `file#index` (index of the document in its file, from 0). */
  id: string
  kind: string
  name: string
  /** `path problem`, e.g. `spec.selector missing-field`. */
  issues: string[]
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) yield* walk(p)
    else if (/\.(ya?ml|json)$/.test(e) && e !== 'expectations.json' && e !== 'vectors.json' && e !== 'cases.json') yield p
  }
}

export function corpusPresent(): boolean {
  return existsSync(join(CORPUS, 'expectations.json'))
}

/** Every document of the corpus a shipped schema covers, with what the check finds in it. */
export function scanCorpus(version?: string): ScannedDocument[] {
  const schemas = kubernetesSchemas(version !== undefined ? { version } : {})
  const out: ScannedDocument[] = []
  for (const file of walk(CORPUS)) {
    const { documents } = parseDocuments(readFileSync(file, 'utf8'), file)
    documents.forEach((d, index) => {
      const v = d.value
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return
      const o = v as Record<string, unknown>
      const r = schemas.validate(o, 1000)
      if (r === undefined) return
      const meta = o['metadata'] as Record<string, unknown> | undefined
      out.push({
        id: `${relative(CORPUS, file)}#${index}`,
        kind: String(o['kind']),
        name: typeof meta?.['name'] === 'string' ? meta['name'] : '',
        issues: r.issues.map((i) => `${formatPath(i.path)} ${i.problem}`),
      })
    })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const scanned = scanCorpus(process.argv[2])
  process.stdout.write(`${JSON.stringify(scanned.filter((d) => d.issues.length > 0), null, 1)}\n`)
  process.stderr.write(`${scanned.length} documents judged, ${scanned.filter((d) => d.issues.length > 0).length} with issues\n`)
}
