// The live source against a small fake API server: paging, the metadata-only Accept header for
// Secrets, watch events, 410 Gone, 403, the API server going away and coming back.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { startLiveClusterView, type LiveClusterViewHandle } from '../../src/cluster/live.js'
import { schedule } from '../../src/cluster/scheduling.js'
import { bare } from './helpers.js'

interface Fake {
  server: Server
  port: number
  requests: { path: string; accept: string }[]
  /** Objects served per collection path, as the API server would store them. */
  objects: Map<string, Record<string, unknown>[]>
  /** Open watch responses per collection path. */
  watchers: Map<string, ServerResponse[]>
  forbidden: Set<string>
  /** Answer the next watch of a path with 410 Gone. */
  gone: Set<string>
  rv: number
  emit(path: string, type: string, obj: Record<string, unknown>): void
  close(): Promise<void>
  listen(): Promise<void>
}

const COLLECTIONS = ['nodes', 'resourcequotas', 'limitranges', 'configmaps', 'secrets', 'persistentvolumeclaims', 'serviceaccounts', 'services', 'pods']

async function fakeApiServer(): Promise<Fake> {
  const sockets = new Set<Socket>()
  const fake: Fake = {
    server: createServer(),
    port: 0,
    requests: [],
    objects: new Map(COLLECTIONS.map((c) => [c, []])),
    watchers: new Map(COLLECTIONS.map((c) => [c, []])),
    forbidden: new Set(),
    gone: new Set(),
    rv: 100,
    emit(path, type, obj) {
      this.rv++
      const o = { ...obj, metadata: { ...(obj['metadata'] as object), resourceVersion: String(this.rv) } }
      const list = this.objects.get(path) ?? []
      const name = (o.metadata as unknown as { name: string }).name
      const i = list.findIndex((x) => (x['metadata'] as { name: string }).name === name)
      if (type === 'DELETED') {
        if (i >= 0) list.splice(i, 1)
      } else if (i >= 0) list[i] = o
      else list.push(o)
      for (const w of this.watchers.get(path) ?? []) w.write(`${JSON.stringify({ type, object: o })}\n`)
    },
    async close() {
      for (const ws of this.watchers.values()) ws.splice(0)
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => this.server.close(() => r()))
    },
    async listen() {
      this.server = createServer(handler)
      this.server.on('connection', (s) => {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
      })
      await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', () => r()))
      const addr = this.server.address()
      if (addr !== null && typeof addr === 'object') this.port = addr.port
    },
  }
  function handler(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname.replace('/api/v1/', '')
    fake.requests.push({ path: `${url.pathname}${url.search}`, accept: String(req.headers.accept) })
    if (fake.forbidden.has(path)) {
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', code: 403, message: `${path} is forbidden: User "view" cannot list resource "${path}"` }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    if (url.searchParams.get('watch') === '1') {
      if (fake.gone.delete(path)) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } })}\n`)
        return
      }
      res.flushHeaders()
      fake.watchers.get(path)?.push(res)
      req.on('close', () => {
        const ws = fake.watchers.get(path) ?? []
        const i = ws.indexOf(res)
        if (i >= 0) ws.splice(i, 1)
      })
      return
    }
    // Lists of two items per page, to exercise continue tokens.
    const all = fake.objects.get(path) ?? []
    const start = Number(url.searchParams.get('continue') ?? '0')
    const items = all.slice(start, start + 2)
    const next = start + 2 < all.length ? String(start + 2) : undefined
    const metaOnly = String(req.headers.accept).includes('as=PartialObjectMetadataList')
    res.end(
      JSON.stringify({
        kind: metaOnly ? 'PartialObjectMetadataList' : 'List',
        metadata: { resourceVersion: String(fake.rv), ...(next !== undefined ? { continue: next } : {}) },
        items: metaOnly ? items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o['metadata'] })) : items,
      }),
    )
  }
  await fake.listen()
  return fake
}

function kubeConfigFor(port: number): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  })
  return kc
}

// Deadlines are generous: they bound a wait on a loaded machine, they do not time anything.
async function waitFor(what: string, pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const node = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels, resourceVersion: '1' },
  status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }], images: [{ names: ['x'], sizeBytes: 1 }] },
})

t.test('the live view lists, watches, relists on 410, and survives the API server going away', async (t) => {
  const fake = await fakeApiServer()
  fake.objects.set('nodes', [node('a'), node('b'), node('c'), node('d'), node('e')])
  fake.objects.set('secrets', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'app', resourceVersion: '3' }, data: { password: 'c2VjcmV0' } }])
  fake.objects.set('configmaps', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'app', resourceVersion: '4' }, data: { url: 'x' } }])
  fake.forbidden.add('persistentvolumeclaims')
  const logs: string[] = []
  const logger = { info: (_o: object, m: string) => logs.push(`info ${m}`), warn: (_o: object, m: string) => logs.push(`warn ${m}`), error: (_o: object, m: string) => logs.push(`error ${m}`) }
  let live: LiveClusterViewHandle | undefined
  t.teardown(async () => {
    await live?.stop()
    await fake.close().catch(() => undefined)
  })
  live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), logger, staleAfterMs: 400, retryMaxMs: 100, resyncAfterMs: 0 })
  const { view } = live
  t.equal(view.synced, false, 'not synced before the first lists')
  await live.ready
  const watching = (): boolean => ['nodes', 'configmaps', 'secrets'].every((c) => (fake.watchers.get(c) ?? []).length > 0)
  await waitFor('the watches', watching)
  t.equal(view.synced, true)
  t.equal(view.nodes().length, 5, 'the five nodes came in three pages')
  t.ok(fake.requests.some((r) => r.path.includes('/nodes?') && r.path.includes('continue=2')), 'paged with continue')
  t.ok(view.secret('app', 'db'), 'the Secret is known by name')
  const secretRequests = fake.requests.filter((r) => r.path.startsWith('/api/v1/secrets'))
  t.ok(secretRequests.length >= 1)
  for (const r of secretRequests) t.match(r.accept, /as=PartialObjectMetadata(List)?;g=meta\.k8s\.io;v=v1/, `metadata only: ${r.path}`)
  t.notOk(secretRequests.some((r) => r.accept.includes(',')), 'never a fallback to full objects')
  t.same([...(view.configMap('app', 'cfg')?.keys ?? [])], ['url'])
  t.equal(view.knows('PersistentVolumeClaim', 'app'), false, 'a forbidden kind is unknown')
  t.equal(view.knows('ConfigMap', 'app'), true)
  t.ok(logs.some((l) => l.startsWith('error cluster view cannot list PersistentVolumeClaims')))
  t.ok(live.status().find((s) => s.kind === 'PersistentVolumeClaim')?.unavailable?.startsWith('forbidden'))
  const watch = fake.requests.find((r) => r.path.startsWith('/api/v1/nodes?') && r.path.includes('watch=1'))
  t.match(watch?.path ?? '', /resourceVersion=100/, 'the watch starts at the list\'s resourceVersion')
  t.match(fake.requests.find((r) => r.path.startsWith('/api/v1/pods?'))?.path ?? '', /fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed/)

  // Watch events change the verdict without a restart.
  const ssd = bare({ nodeSelector: { disktype: 'ssd' }, containers: [{ name: 'a', image: 'a' }] })
  t.equal(schedule(ssd, view)?.blockedAt, 'selector')
  fake.emit('nodes', 'ADDED', node('fast', { disktype: 'ssd' }))
  await waitFor('the new node', () => view.node('fast') !== undefined)
  t.equal(schedule(ssd, view)?.blockedAt, undefined)
  fake.emit('nodes', 'DELETED', node('fast', { disktype: 'ssd' }))
  await waitFor('the node to go', () => view.node('fast') === undefined)
  t.equal(schedule(ssd, view)?.blockedAt, 'selector')

  // 410 Gone: relist.
  const lists = () => fake.requests.filter((r) => r.path.startsWith('/api/v1/nodes?') && !r.path.includes('watch=1')).length
  const before = lists()
  fake.gone.add('nodes')
  for (const w of fake.watchers.get('nodes') ?? []) w.end() // the server closes the watch; the next one gets 410
  await waitFor('a relist after 410', () => lists() > before)
  await waitFor('the watches again', watching)
  t.equal(view.synced, true)

  // The API server goes away: stale after staleAfterMs, then back.
  await fake.close()
  await waitFor('stale', () => !view.synced)
  t.pass('synced turned false while the API server was away')
  await fake.listen()
  await waitFor('recovered', () => view.synced)
  await waitFor('the watches after the restart', watching)
  fake.emit('nodes', 'ADDED', node('late', { disktype: 'ssd' }))
  await waitFor('events after the restart', () => view.node('late') !== undefined)
  t.pass('synced again, and following events (the e2e test checks changes made while it was away)')
  t.ok(logs.some((l) => l.startsWith('warn cluster view is stale')))
  t.ok(logs.some((l) => l === 'info cluster view synced'))

  await live.stop()
  t.equal(view.synced, false, 'stopped: no longer synced')
})

t.test('stop() before the first sync rejects ready without an unhandled rejection', async (t) => {
  const kc = kubeConfigFor(1) // nothing listens on port 1
  const live = startLiveClusterView({ kubeConfig: kc, retryMaxMs: 50 })
  await waitFor('the first failed attempt', () => /ECONNREFUSED/.test(live.status()[0]?.lastError ?? ''))
  t.equal(live.view.synced, false)
  t.match(live.status()[0]?.lastError ?? '', /ECONNREFUSED/)
  await live.stop()
  await t.rejects(live.ready, /stopped before it synced/)
})

t.test('kinds can be left out', async (t) => {
  const fake = await fakeApiServer()
  t.teardown(() => fake.close())
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), kinds: { Secret: false, Pod: false } })
  await live.ready
  t.notOk(fake.requests.some((r) => r.path.startsWith('/api/v1/secrets')), 'Secrets are never requested')
  t.equal(live.view.knows('Secret', 'x'), false)
  t.equal(live.view.knows('Pod'), false)
  await live.stop()
})

t.test('a periodic resync relists, and heals what a watch missed', async (t) => {
  const fake = await fakeApiServer()
  t.teardown(() => fake.close())
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), resyncAfterMs: 300, kinds: { Node: true, Pod: false, Secret: false, ConfigMap: false, ServiceAccount: false, Service: false, PersistentVolumeClaim: false, LimitRange: false, ResourceQuota: false } })
  t.teardown(() => live.stop())
  await live.ready
  // Changed behind the watch's back: no event is sent.
  fake.objects.set('nodes', [node('missed')])
  await waitFor('the resync', () => live.view.node('missed') !== undefined)
  t.equal(live.view.synced, true, 'a resync does not make the view stale')
  t.same(live.status().map((s) => s.kind), ['Node'])
})
