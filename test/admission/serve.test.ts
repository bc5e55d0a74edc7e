import t from 'tap'
import { parseDuration, parseServeArgs, run } from '../../src/cli/commands/serve.js'
import { main } from '../../src/cli/main.js'
import { memoryIO, UsageError } from '../../src/cli/io.js'

t.test('durations', async (t) => {
  t.equal(parseDuration('500ms', 'x'), 500)
  t.equal(parseDuration('2.5s', 'x'), 2500)
  t.equal(parseDuration('1m', 'x'), 60_000)
  t.equal(parseDuration('0', 'x'), 0)
  t.throws(() => parseDuration('5', '--time-budget'), UsageError)
  t.throws(() => parseDuration('fast', '--time-budget'), /--time-budget: "fast" is not a duration/)
})

t.test('flags', async (t) => {
  t.equal(parseServeArgs(['--help']), undefined)
  const c = parseServeArgs(['--tls-cert', 'a.crt', '--tls-key', 'a.key'])
  t.same(c?.options, { host: '127.0.0.1', port: 8443, tlsCert: 'a.crt', tlsKey: 'a.key', reloadIntervalMs: 10_000 })
  t.equal(c?.logLevel, 'info')
  t.equal(c?.shutdownDelayMs, 5000, 'keeps answering 5 s after SIGTERM by default, as the manifests do')
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--shutdown-delay=0s'])?.shutdownDelayMs, 0, '0s closes at once')
  const d = parseServeArgs(['--tls-cert=a', '--tls-key=b', '--host=0.0.0.0', '--port=9443', '--policy=p.yaml', '--time-budget=1s', '--max-warnings=3', '--cache-size=0', '--cluster', '--companion', '--kubeconfig=k', '--log-level=debug', '--shutdown-delay=5s', '--reload-interval=2s'])
  t.same(d?.options, { host: '0.0.0.0', port: 9443, tlsCert: 'a', tlsKey: 'b', reloadIntervalMs: 2000, policyFile: 'p.yaml', budgetMs: 1000, maxWarnings: 3, cacheEntries: 0, cluster: true, companion: true, companionLease: { namespace: process.env['POD_NAMESPACE'] ?? 'pod-preflight' }, kubeconfig: 'k' })
  t.equal(d?.shutdownDelayMs, 5000)
  const e = parseServeArgs(['--tls-cert=a', '--tls-key=b', '--shutdown-timeout=8s', '--request-timeout=10s'])
  t.equal(e?.options.shutdownTimeoutMs, 8000)
  t.equal(e?.options.requestTimeoutMs, 10_000)
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--metrics-port=9090'])?.options.metricsPort, 9090)
  t.equal(e?.options.metricsPort, undefined, 'metrics stay on the webhook port without the flag')
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--http2'])?.options.http2, true)
  t.equal(e?.options.http2, undefined, 'HTTP/1.1 only without --http2')
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--metrics-port=8443']), /--metrics-port 8443 is the webhook's --port/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--shutdown-timeout=0']), /--shutdown-timeout must be at least 100ms/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--request-timeout=10m']), /--request-timeout must be between 100ms and 5m/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--request-timeout=soon']), /--request-timeout: "soon" is not a duration/)
  t.throws(() => parseServeArgs([]), /--tls-cert and --tls-key are required/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--port=70000']), /--port: 70000 is outside/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--log-level=loud']), /--log-level/)
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--review-log=warned'])?.options.reviewLog, 'warned')
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--review-log', 'all'])?.options.reviewLog, 'all')
  t.equal(e?.options.reviewLog, undefined, 'every review logged without --review-log')
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--review-log=denies']), /--review-log: "denies" is not one of all, warned/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--review-log=\u001b[2Jx']), /--review-log: "\\x1b\[2Jx" is not one of/, 'a control character is shown escaped')
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--review-log=a\u202eb']), /--review-log: "a\\u202eb" is not one of/, 'a bidi control too')
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', `--log-level=${'x'.repeat(500)}`]), /--log-level: "x{39}…" is not one of/, 'a long value is shortened')
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--bogus']), /unknown option '--bogus'/)
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--companion', '--companion-logs'])?.options.companionLogs, true)
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--companion'])?.options.companionLogs, undefined, 'logs are read only when asked')
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--companion-logs']), /--companion-logs goes with --companion/)
})

t.test('serve --help, and errors through the CLI', async (t) => {
  const io = memoryIO()
  t.equal(await run(['--help'], io), 0)
  t.match(io.out(), /^Usage: pod-preflight serve --tls-cert FILE --tls-key FILE/)
  const err = memoryIO()
  t.equal(await main(['serve', '--tls-cert', '/nonexistent/tls.crt', '--tls-key', '/nonexistent/tls.key'], err), 2)
  t.match(err.err(), /^pod-preflight serve: cannot read the TLS certificate \/nonexistent\/tls\.crt \(no such file\)/)
})

t.test('serve reads the cluster as the other commands do: --kubeconfig, --context, -n', async (t) => {
  const c = parseServeArgs(['--tls-cert=a', '--tls-key=b', '--cluster', '--kubeconfig', 'k', '--context', 'staging'])
  t.equal(c?.options.kubeconfig, 'k')
  t.equal(c?.options.context, 'staging')
  const s = parseServeArgs(['--tls-secret', 's', '--webhook-configuration', 'w', '--service', 'svc', '-n', 'checks'])
  t.equal(s?.options.selfManaged?.namespace, 'checks', '-n is --namespace')
})

t.test('the server\'s kubeconfig: --kubeconfig, KUBECONFIG, the service account in a pod, then ~/.kube/config', async (t) => {
  const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { loadKubeConfig, SERVICE_ACCOUNT_TOKEN } = await import('../../src/analyzer/cluster-source.js')
  const dir = mkdtempSync(join(tmpdir(), 'pp-serve-kc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const kubeconfig = (server: string, contexts: string[] = ['main']): string =>
    `apiVersion: v1\nkind: Config\ncurrent-context: ${contexts[0]}\nclusters:\n- name: k\n  cluster: {server: '${server}'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n` +
    contexts.map((c) => `- name: ${c}\n  context: {cluster: k, user: u}\n`).join('')
  const home = join(dir, 'home')
  mkdirSync(join(home, '.kube'), { recursive: true })
  writeFileSync(join(home, '.kube', 'config'), kubeconfig('https://home.example:6443', ['main', 'other']))
  const fromEnv = join(dir, 'env-kubeconfig')
  writeFileSync(fromEnv, kubeconfig('https://env.example:6443'))
  const flag = join(dir, 'flag-kubeconfig')
  writeFileSync(flag, kubeconfig('https://flag.example:6443'))
  // A pod's service account, under a directory instead of /.
  const sa = join(dir, 'sa')
  mkdirSync(join(sa, SERVICE_ACCOUNT_TOKEN, '..'), { recursive: true })
  writeFileSync(join(sa, SERVICE_ACCOUNT_TOKEN), 'token')
  writeFileSync(join(sa, SERVICE_ACCOUNT_TOKEN, '..', 'ca.crt'), '')
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] }
  // client-node reads the service's address from the process environment.
  process.env['KUBERNETES_SERVICE_HOST'] = '10.0.0.1'
  process.env['KUBERNETES_SERVICE_PORT'] = '443'
  t.teardown(() => {
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
  const inPod = { HOME: home, KUBERNETES_SERVICE_HOST: '10.0.0.1' }
  const server = (o: Parameters<typeof loadKubeConfig>[0]): string | undefined => loadKubeConfig({ serviceAccountRoot: sa, ...o }).getCurrentCluster()?.server
  t.equal(server({ env: inPod, inClusterFirst: true }), 'https://10.0.0.1:443', 'in a pod, the server uses its service account first')
  t.equal(server({ env: inPod }), 'https://home.example:6443', 'the CLI commands keep kubectl\'s order: ~/.kube/config first')
  t.equal(server({ env: { ...inPod, KUBECONFIG: fromEnv }, inClusterFirst: true }), 'https://env.example:6443', 'KUBECONFIG wins over the service account')
  t.equal(server({ env: inPod, kubeconfig: flag, inClusterFirst: true }), 'https://flag.example:6443', '--kubeconfig wins over everything')
  const other = loadKubeConfig({ serviceAccountRoot: sa, env: inPod, context: 'other', inClusterFirst: true })
  t.equal(other.getCurrentContext(), 'other', '--context reads the kubeconfig file, not the service account')
  t.equal(server({ env: { HOME: home }, inClusterFirst: true }), 'https://home.example:6443', 'outside a pod: ~/.kube/config')
  t.throws(() => loadKubeConfig({ serviceAccountRoot: sa, env: { HOME: join(dir, 'nowhere') }, inClusterFirst: true }), /^no kubeconfig found: /)
})

t.test('serve without a kubeconfig for --cluster, or with an unknown --context: status 2, one line', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { execFileSync } = await import('node:child_process')
  const dir = mkdtempSync(join(tmpdir(), 'pp-serve-nokc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  const saved = { home: process.env['HOME'], kc: process.env['KUBECONFIG'], host: process.env['KUBERNETES_SERVICE_HOST'] }
  process.env['HOME'] = dir
  delete process.env['KUBECONFIG']
  delete process.env['KUBERNETES_SERVICE_HOST']
  t.teardown(() => {
    for (const [k, v] of [['HOME', saved.home], ['KUBECONFIG', saved.kc], ['KUBERNETES_SERVICE_HOST', saved.host]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
  const tls = ['--tls-cert', join(dir, 'c.pem'), '--tls-key', join(dir, 'k.pem'), '--port', '0', '--log-level', 'fatal']
  for (const flag of ['--cluster', '--companion']) {
    const io = memoryIO('', {})
    t.equal(await main(['serve', ...tls, flag], io), 2, flag)
    t.match(io.err(), /^pod-preflight serve: no kubeconfig found: --kubeconfig not given, KUBECONFIG not set, .* does not exist, and not running in a pod/, flag)
    t.notMatch(io.err(), /localhost:8080|\n\s+at /)
  }
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(dir, 'kc'), 'apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: k\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: a\n  context: {cluster: k, user: u}\n')
  const io = memoryIO('', {})
  t.equal(await main(['serve', ...tls, '--cluster', '--kubeconfig', join(dir, 'kc'), '--context', 'nope'], io), 2)
  t.equal(io.err(), 'pod-preflight serve: no context "nope" in the kubeconfig (contexts: a)\n')
})
