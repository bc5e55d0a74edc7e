/** certs/generate.sh --dev (what npm start runs): the caBundle alone on stdout, no dangling label on stderr. */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const GENERATE = new URL('../../certs/generate.sh', import.meta.url).pathname

t.test('--dev prints the caBundle on stdout and no lone label on stderr', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-gen-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const extra of [[], ['--if-missing']]) {
    const r = spawnSync('bash', [GENERATE, '--dev', '--out', dir, ...extra], { encoding: 'utf8', timeout: 60_000 })
    t.equal(r.status, 0, r.stderr)
    t.match(r.stdout, /^[A-Za-z0-9+/]+=*\n$/, 'one base64 line')
    t.match(Buffer.from(r.stdout.trim(), 'base64').toString('utf8'), /^-----BEGIN CERTIFICATE-----/, 'the CA certificate')
    t.notOk(r.stderr.split('\n').some((l) => l.trim() === 'caBundle:'), `no lone caBundle: label (${r.stderr})`)
  }
})
