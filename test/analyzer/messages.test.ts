import t from 'tap'
import {
  classifyPullMessage,
  classifyStartMessage,
  parseEviction,
  parseFailedScheduling,
  parseMissingConfig,
  parseMountFailure,
  parseQuotaMessage,
} from '../../src/analyzer/messages.js'

t.test('image pull messages of containerd, CRI-O and Docker', async (t) => {
  const cases: [string, string][] = [
    ['rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:9.9": failed to resolve reference "docker.io/library/nginx:9.9": docker.io/library/nginx:9.9: not found', 'image-not-found'],
    ['rpc error: code = Unknown desc = Error response from daemon: manifest for nginx:9.9 not found: manifest unknown: manifest unknown', 'image-not-found'],
    ['rpc error: code = Unknown desc = reading manifest 9.9 in quay.io/acme/api: manifest unknown', 'image-not-found'],
    ['rpc error: code = NotFound desc = failed to pull and unpack image "123.dkr.ecr.us-east-1.amazonaws.com/api:1": failed to resolve reference: 123.dkr.ecr.us-east-1.amazonaws.com/api:1: not found', 'image-not-found'],
    ['failed to resolve reference "registry.example.com/app:1": pulling from host registry.example.com failed with status code [manifests 1]: 401 Unauthorized', 'image-pull-unauthorized'],
    ['failed to resolve reference "ghcr.io/acme/private:1": failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized', 'image-pull-unauthorized'],
    ['failed to pull and unpack image "docker.io/acme/private:1": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed', 'image-pull-unauthorized'],
    ['rpc error: code = Unknown desc = Error response from daemon: Get https://acme.azurecr.io/v2/app/manifests/v1: unauthorized: authentication required', 'image-pull-unauthorized'],
    ['rpc error: code = Unknown desc = Error response from daemon: Get https://registry:5000/v2/: no basic auth credentials', 'image-pull-unauthorized'],
    ['rpc error: code = Unknown desc = initializing source docker://registry.example.com/app:1: reading manifest 1 in registry.example.com/app: unauthorized: authentication required', 'image-pull-unauthorized'],
    ['failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://europe-docker.pkg.dev/v2/token: 403 Forbidden', 'image-pull-unauthorized'],
    ['rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "quay.io/a/b:1": failed to do request: Head "https://quay.io/v2/a/b/manifests/1": dial tcp 52.4.1.2:443: i/o timeout', 'image-pull-failed'],
    ['rpc error: code = Unknown desc = Error response from daemon: Get "https://registry.local/v2/": x509: certificate signed by unknown authority', 'image-pull-failed'],
    ['rpc error: code = Unknown desc = Error response from daemon: toomanyrequests: You have reached your pull rate limit.', 'image-pull-failed'],
    ['rpc error: code = Unknown desc = pinging container registry registry.example.com: Get "https://registry.example.com/v2/": dial tcp: lookup registry.example.com on 10.96.0.10:53: no such host', 'image-pull-failed'],
    ['rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/acme/x86only:1": no match for platform in manifest: not found', 'image-pull-failed'],
  ]
  for (const [message, cause] of cases) t.equal(classifyPullMessage(message)?.cause, cause, message.slice(0, 90))
  t.equal(classifyPullMessage(''), undefined)
  t.equal(classifyPullMessage('Back-off pulling image "x"'), undefined, 'a back-off says nothing about the cause')
})

t.test('missing ConfigMaps, Secrets and keys', async (t) => {
  t.same(parseMissingConfig('configmap "app-config" not found'), { kind: 'ConfigMap', name: 'app-config' })
  t.same(parseMissingConfig('Error: secret "db" not found'), { kind: 'Secret', name: 'db' })
  t.same(parseMissingConfig('configmaps "legacy" not found'), { kind: 'ConfigMap', name: 'legacy' }, 'the plural of older kubelets')
  t.same(parseMissingConfig("couldn't find key password in Secret payments/db-credentials"), { kind: 'Secret', name: 'db-credentials', key: 'password' })
  t.same(parseMissingConfig("couldn't find key LOG_LEVEL in ConfigMap default/app"), { kind: 'ConfigMap', name: 'app', key: 'LOG_LEVEL' })
  t.equal(parseMissingConfig('container has runAsNonRoot and image will run as root'), undefined)
})

t.test('start errors', async (t) => {
  t.same(classifyStartMessage('exec: "python app.py": executable file not found in $PATH: unknown'), { cause: 'command-not-found', executable: 'python app.py' })
  t.same(classifyStartMessage('exec: "/entry.sh": permission denied: unknown'), { cause: 'command-not-executable', executable: '/entry.sh' })
  t.same(classifyStartMessage('starting container process caused "exec: \\"gunicorn\\": executable file not found in $PATH"'), { cause: 'command-not-found', executable: 'gunicorn' })
  t.equal(classifyStartMessage('unable to apply cgroup configuration'), undefined)
})

t.test('FailedScheduling messages of current and older schedulers', async (t) => {
  const current = parseFailedScheduling('0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.')
  t.equal(current.nodes, 3)
  t.same(current.reasons.map((r) => [r.kind, r.count, r.detail]), [['taint', 1, 'node-role.kubernetes.io/control-plane:'], ['insufficient-cpu', 2, 'cpu']])
  t.match(current.preemption, /Preemption is not helpful/)

  const old = parseFailedScheduling("0/5 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate, 2 Insufficient memory, 2 node(s) didn't match node selector.")
  t.same(old.reasons.map((r) => [r.kind, r.count]), [['taint', 1], ['insufficient-memory', 2], ['selector-mismatch', 2]])

  const many = parseFailedScheduling("0/12 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) didn't match pod anti-affinity rules, 3 node(s) had volume node affinity conflict, 2 node(s) were unschedulable, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 node(s) didn't match Pod's node affinity/selector. preemption: not eligible")
  t.same(many.reasons.map((r) => [r.kind, r.count]), [
    ['insufficient-other', 1], ['pod-anti-affinity', 2], ['volume-node-affinity', 3], ['unschedulable-node', 2], ['not-ready-node', 1], ['selector-mismatch', 3],
  ])
  t.equal(many.reasons[0]?.detail, 'nvidia.com/gpu')

  const pvc = parseFailedScheduling('0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.')
  t.same(pvc.reasons.map((r) => [r.kind, r.count]), [['unbound-pvc', undefined]])
  const pvcOld = parseFailedScheduling('pod has unbound immediate PersistentVolumeClaims (repeated 3 times)')
  t.equal(pvcOld.reasons[0]?.kind, 'unbound-pvc')
  t.equal(parseFailedScheduling('persistentvolumeclaim "data" not found').reasons[0]?.detail, 'data')
  const none = parseFailedScheduling('no nodes available to schedule pods')
  t.equal(none.nodes, 0)
  const cordon = parseFailedScheduling('0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/unschedulable: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.')
  t.equal(cordon.reasons[0]?.kind, 'unschedulable-node', 'a cordon shows as the unschedulable taint')
})

t.test('eviction messages name the resource', async (t) => {
  const mem = parseEviction('The node was low on resource: memory. Threshold quantity: 100Mi, available: 86540Ki. Container warmup was using 5632740Ki, request is 0, has larger consumption of memory. ')
  t.same(mem, { resource: 'memory', scope: 'node-pressure', detail: 'container warmup was using 5632740Ki (request 0)' })
  t.equal(parseEviction('The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 2Gi. Container app was using 8Gi, which exceeds its request of 0. ').resource, 'ephemeral-storage')
  t.equal(parseEviction('The node was low on resource: pids.').resource, 'pids')
  t.equal(parseEviction('The node was low on resource: imagefs.').resource, 'imagefs')
  t.equal(parseEviction('The node had condition: [DiskPressure]. ').resource, 'ephemeral-storage')
  t.same(parseEviction('Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. '), { resource: 'ephemeral-storage', scope: 'pod-limit' })
  t.same(parseEviction('Container app exceeded its local ephemeral storage limit "500Mi". '), { resource: 'ephemeral-storage', scope: 'container-limit', detail: 'container app' })
  t.same(parseEviction('Usage of EmptyDir volume "cache" exceeds the limit "1Gi". '), { resource: 'ephemeral-storage', scope: 'emptydir-limit' })
  t.same(parseEviction('something else'), { scope: 'unknown' })
})

t.test('quota and LimitRange refusals', async (t) => {
  t.same(parseQuotaMessage('Error creating: pods "web-1" is forbidden: exceeded quota: compute, requested: limits.memory=2Gi, used: limits.memory=7Gi, limited: limits.memory=8Gi'), {
    kind: 'quota-exceeded', quota: 'compute', detail: 'requested: limits.memory=2Gi, used: limits.memory=7Gi, limited: limits.memory=8Gi',
  })
  t.same(parseQuotaMessage('Error creating: pods "web-1" is forbidden: failed quota: compute: must specify limits.cpu for: app; limits.memory for: app'), {
    kind: 'quota-requires-limits', quota: 'compute', detail: 'must specify limits.cpu for: app; limits.memory for: app',
  })
  t.equal(parseQuotaMessage('Error creating: pods "web-1" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi')?.kind, 'limitrange-violation')
  t.equal(parseQuotaMessage('Error creating: pods "web-1" is forbidden: error looking up service account shop/web: serviceaccount "web" not found'), undefined)
})

t.test('mount failures', async (t) => {
  t.same(parseMountFailure('MountVolume.SetUp failed for volume "config" : configmap "web-config" not found'), { volume: 'config', missing: { kind: 'ConfigMap', name: 'web-config' } })
  t.same(parseMountFailure('MountVolume.SetUp failed for volume "tls" : secret "web-tls" not found'), { volume: 'tls', missing: { kind: 'Secret', name: 'web-tls' } })
  t.same(parseMountFailure('Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data kube-api-access-x]: timed out waiting for the condition'), { volume: 'data' })
})
