/** The install and uninstall commands as the CLI parses them. */
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const NO_CLUSTER = { HOME: '/nonexistent-home' }

t.test('install flags reach the rendering', async (t) => {
  const io = memoryIO('', NO_CLUSTER)
  const code = await main(['install', '-n', 'checks', '--replicas', '3', '--mode', 'audit', '--cluster-view', '--certificates=cert-manager', '--apiserver-cidr', '10.1.0.0/16', '--kube-version', '1.20', '-o', 'yaml'], io)
  t.equal(code, 0, io.err())
  const objects = parseAllDocuments(io.out()).map((d) => d.toJS() as Record<string, any>)
  const deploy = objects.find((o) => o['kind'] === 'Deployment')
  t.equal(deploy?.['metadata']['namespace'], 'checks')
  t.equal(deploy?.['spec']['replicas'], 3)
  t.ok((deploy?.['spec']['template']['spec']['containers'][0]['args'] as string[]).includes('--cluster'))
  t.ok(objects.some((o) => o['kind'] === 'Certificate'))
  t.equal(objects.find((o) => o['kind'] === 'PodDisruptionBudget')?.['apiVersion'], 'policy/v1beta1')
  t.match(objects.find((o) => o['kind'] === 'ConfigMap')?.['data']['policy.yaml'], /^mode: audit$/m)
  t.same(objects.find((o) => o['kind'] === 'NetworkPolicy')?.['spec']['ingress'][0]['from'], [{ ipBlock: { cidr: '10.1.0.0/16' } }])
})

t.test('bad flags: exit 2 and a message naming the flag', async (t) => {
  for (const [args, message] of [
    [['install', '--mode', 'warn'], /--mode: "warn" is not one of enforce, audit/],
    [['install', '--certificates', 'manual'], /--certificates: "manual" is not one of self-managed, cert-manager, provided/],
    [['install', '--replicas', 'two'], /--replicas: "two" is not a whole number/],
    [['install', '--bogus'], /unknown option '--bogus'/],
    [['install', '-o', 'xml', '--kube-version=1.30'], /-o\/--output must be one of yaml, json, not "xml"/],
  ] as const) {
    const io = memoryIO('', NO_CLUSTER)
    t.equal(await main([...args], io), 2, args.join(' '))
    t.match(io.err(), message)
    t.equal(io.out(), '', 'nothing half-rendered on stdout')
  }
})

t.test('uninstall and help', async (t) => {
  const io = memoryIO('', NO_CLUSTER)
  t.equal(await main(['uninstall', '--keep-namespace', '--kube-version', '1.29', '-o', 'json'], io), 0, io.err())
  const items = (JSON.parse(io.out()) as { items: { kind: string }[] }).items
  t.equal(items[0]?.kind, 'ValidatingWebhookConfiguration')
  t.notOk(items.some((o) => o.kind === 'Namespace'))
  const help = memoryIO('', NO_CLUSTER)
  t.equal(await main(['install', '--help'], help), 0)
  t.match(help.out(), /--certificates <mode>/)
  const usage = memoryIO()
  await main(['--help'], usage)
  t.match(usage.out(), /install .*kubectl apply/)
})

t.test('install --companion-logs adds get on pods/log; alone it is a usage error', async (t) => {
  const io = memoryIO('', NO_CLUSTER)
  t.equal(await main(['install', '--companion', '--companion-logs', '--kube-version', '1.29', '-o', 'json'], io), 0, io.err())
  const items = (JSON.parse(io.out()) as { items: { kind: string; metadata: { name: string }; rules?: { resources: string[]; verbs: string[] }[] }[] }).items
  const role = items.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'pod-preflight:companion')
  t.same(role?.rules?.find((r) => r.resources.includes('pods/log'))?.verbs, ['get'])
  const alone = memoryIO('', NO_CLUSTER)
  t.equal(await main(['install', '--companion-logs', '--kube-version', '1.29'], alone), 2)
  t.match(alone.err(), /--companion-logs goes with --companion/)
})
