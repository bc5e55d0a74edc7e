/**
 * The schema check on documents nobody here wrote: the peer corpus. A document the API server
 * accepts gets no schema finding; the ones it refuses are listed, with the reason, in
 * test/fixtures/schema/corpus-refused.json, and each must get exactly the issues listed there.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { CORPUS, corpusPresent, scanCorpus } from './corpus-scan.js'

const refused = JSON.parse(readFileSync(new URL('../fixtures/schema/corpus-refused.json', import.meta.url), 'utf8')) as {
  reasons: Record<string, string>
  documents: Record<string, string[]>
}

if (!corpusPresent()) {
  if (process.env['CI'] === 'true') t.fail(`no peer corpus at ${CORPUS}`)
  else t.test('the peer corpus', { skip: `no peer corpus at ${CORPUS} (set POD_PREFLIGHT_CORPUS)` }, async () => {})
} else {
  const scanned = scanCorpus()
  t.test('the check judges most of the corpus', async (t) => {
    t.ok(scanned.length > 500, `${scanned.length} documents judged`)
  })
  t.test('documents the API server accepts: no schema finding', async (t) => {
    const accepted = scanned.filter((d) => refused.documents[d.id] === undefined)
    t.ok(accepted.length > 400, `${accepted.length} accepted documents`)
    t.same(accepted.filter((d) => d.issues.length > 0).map((d) => `${d.id} ${d.kind} ${d.name}: ${d.issues.join(', ')}`), [])
  })
  t.test('documents the API server refuses: exactly the issues listed, each with its reason', async (t) => {
    const byId = new Map(scanned.map((d) => [d.id, d]))
    for (const [id, issues] of Object.entries(refused.documents)) {
      const d = byId.get(id)
      t.ok(d !== undefined, `${id} is in the corpus and judged`)
      t.same(d?.issues.slice().sort(), issues.slice().sort(), id)
      for (const i of issues) t.ok(refused.reasons[i.replace(/\[\d+\]/g, '[]')] !== undefined, `${id}: "${i}" has a reason`)
    }
  })
}
