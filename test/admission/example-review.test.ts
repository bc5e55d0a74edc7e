/**
 * The quick start's example: examples/admission-review.json POSTed to a served webhook (real
 * TLS, the shipped rules and default policy) is denied by command-missing, as the README says.
 */
import t from 'tap'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:https'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startServer } from '../../src/admission/server.js'
import { createLogger } from '../../src/admission/logger.js'
import { RULES } from '../../src/rules/index.js'

const GENERATE = new URL('../../certs/generate.sh', import.meta.url).pathname
const REVIEW = new URL('../../examples/admission-review.json', import.meta.url).pathname

t.test('POST examples/admission-review.json to /validate: denied by command-missing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pp-example-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await promisify(execFile)('bash', [GENERATE, '--out', dir, '--dev'])
  const s = await startServer({ host: '127.0.0.1', port: 0, tlsCert: join(dir, 'tls.crt'), tlsKey: join(dir, 'tls.key'), reloadIntervalMs: 0, rules: RULES, logger: createLogger('silent') })
  t.teardown(() => s.close())
  const ca = await readFile(join(dir, 'ca.crt'))
  const body = await readFile(REVIEW, 'utf8')
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${s.url}/validate`, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(body)
  })
  t.equal(answer.status, 200)
  const review = JSON.parse(answer.text) as { kind: string; response: { uid: string; allowed: boolean; status?: { message: string } } }
  t.equal(review.kind, 'AdmissionReview')
  t.equal(review.response.uid, (JSON.parse(body) as { request: { uid: string } }).request.uid, 'the uid is echoed')
  t.equal(review.response.allowed, false, 'busybox without a command is refused')
  t.match(review.response.status?.message ?? '', /\[command-missing\] spec\.containers\[0\]/)
})
