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
  t.throws(() => parseDuration('fast', '--time-budget'), /--time-budget: 'fast' is not a duration/)
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
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--metrics-port=8443']), /--metrics-port 8443 is the webhook's --port/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--shutdown-timeout=0']), /--shutdown-timeout must be at least 100ms/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--request-timeout=10m']), /--request-timeout must be between 100ms and 5m/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--request-timeout=soon']), /--request-timeout: 'soon' is not a duration/)
  t.throws(() => parseServeArgs([]), /--tls-cert and --tls-key are required/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--port=70000']), /--port: 70000 is outside/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--log-level=loud']), /--log-level/)
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
