/**
 * The benchmark's baseline: the smallest Fastify HTTPS server that answers an AdmissionReview,
 * with a fixed `allowed: true` (echoing the request uid, as the API server requires). Same
 * Fastify, same TLS certificate, same keep-alive; no rules, no logging.
 *
 *   node --import=tsx bench/webhook-minimal.ts PORT CERT KEY
 */
import { readFileSync } from 'node:fs'
import { fastify } from 'fastify'

const [port, cert, key] = process.argv.slice(2)
if (port === undefined || cert === undefined || key === undefined) {
  process.stderr.write('usage: webhook-minimal.ts PORT CERT KEY\n')
  process.exit(2)
}

const app = fastify({ https: { cert: readFileSync(cert), key: readFileSync(key) }, bodyLimit: 7 * 1024 * 1024 })

app.post('/validate', async (request) => {
  const body = request.body as { request?: { uid?: unknown } } | null
  const uid = typeof body?.request?.uid === 'string' ? body.request.uid : ''
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }
})
app.get('/readyz', async () => 'ok\n')

await app.listen({ host: '127.0.0.1', port: Number(port) })
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
