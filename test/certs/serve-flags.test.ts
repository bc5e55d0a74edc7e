/**
 * The flags of the self-managed mode: what they need, what they exclude, where the namespace comes from.
 */
import t from 'tap'
import { parseServeArgs, resolveNamespace, SERVICE_ACCOUNT_NAMESPACE_FILE } from '../../src/cli/commands/serve.js'
import { UsageError } from '../../src/cli/io.js'

const none = (): undefined => undefined
const SM = ['--tls-secret=pod-preflight-tls', '--webhook-configuration=pod-preflight', '--service=pod-preflight']

t.test('self-managed flags give the server what it needs', async (t) => {
  const cfg = parseServeArgs([...SM, '--namespace=pp', '--cert-validity=90s'], {}, none)
  t.same(cfg?.options.selfManaged, { secretName: 'pod-preflight-tls', webhookConfigurationName: 'pod-preflight', serviceName: 'pod-preflight', namespace: 'pp', validityMs: 90_000 })
  t.equal(cfg?.options.tlsCert, undefined)
  t.equal(parseServeArgs(SM, {}, () => 'from-file\n')?.options.selfManaged?.validityMs, 365 * 86_400_000, 'one year by default')
})

t.test('the namespace: flag, then POD_NAMESPACE, then the service account file', async (t) => {
  t.equal(resolveNamespace('flag', { POD_NAMESPACE: 'env' }, () => 'file'), 'flag')
  t.equal(resolveNamespace(undefined, { POD_NAMESPACE: 'env' }, () => 'file'), 'env')
  t.equal(resolveNamespace(undefined, {}, (p) => (p === SERVICE_ACCOUNT_NAMESPACE_FILE ? 'file\n' : undefined)), 'file')
  t.equal(resolveNamespace(undefined, {}, none), undefined)
})

t.test('bad combinations are refused with what to give', async (t) => {
  const refuse = (args: string[], re: RegExp, env: Record<string, string> = { POD_NAMESPACE: 'pp' }): void => {
    try {
      parseServeArgs(args, env, none)
      t.fail(`accepted ${args.join(' ')}`)
    } catch (err) {
      t.ok(err instanceof UsageError, args.join(' '))
      t.match((err as Error).message, re)
    }
  }
  refuse([...SM, '--tls-cert=a', '--tls-key=b'], /exclude each other/)
  refuse(['--tls-secret=x', '--service=s'], /--webhook-configuration/)
  refuse(SM, /no namespace/, {})
  refuse([...SM, '--cert-validity=10s'], /at least 30s/)
  refuse([...SM, '--cert-validity=soon'], /not a duration/)
  refuse(['--tls-secret=Bad_Name', '--webhook-configuration=w', '--service=s'], /not a valid Kubernetes name/)
  refuse(['--tls-cert=a', '--tls-key=b', '--service=s'], /only applies with --tls-secret/)
  refuse([], /--tls-secret/)
})
