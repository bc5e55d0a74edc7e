// End-to-end smoke test of the harness itself: a real etcd + kube-apiserver
// (built by test/e2e/kube/build.sh) and the real kubectl.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { startCluster } from './harness/cluster.js';

t.setTimeout(300_000);

t.test('a real kube-apiserver answers the real kubectl', async (t) => {
  const cluster = await startCluster();
  t.teardown(() => cluster.stop());

  t.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/, 'serves https on loopback');
  t.match(cluster.caPem, /BEGIN CERTIFICATE/, 'exposes the CA');

  await t.test('kubectl version reports the 1.20.2 server', async (t) => {
    const r = await cluster.kubectl(['version', '-o', 'json']);
    t.equal(r.code, 0, `kubectl version exits 0 (stderr: ${r.stderr})`);
    const v = JSON.parse(r.stdout) as { serverVersion?: { gitVersion?: string; major?: string; minor?: string } };
    t.equal(v.serverVersion?.gitVersion, 'v1.20.2');
    t.equal(v.serverVersion?.major, '1');
    t.equal(v.serverVersion?.minor, '20');
  });

  // Built against a reflect2 that is wrong for the Go it is built with, the API server died on
  // the first pretty-printed (curl's default) or YAML answer holding a map, so a test suite
  // passed or crashed the server depending on the order of its requests. Here the risky reads
  // come first, each followed by a create.
  await t.test('pretty JSON and YAML reads of a labelled object, each before a create', async (t) => {
    const created = await cluster.request('/api/v1/namespaces/default/configmaps', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'labelled', labels: { app: 'web', tier: 'front' } }, data: { k: 'v' } }),
    });
    t.equal(created.status, 201, `created (${created.body.slice(0, 200)})`);
    const reads: [string, string, Record<string, string>][] = [
      ['pretty JSON', '/api/v1/namespaces/default/configmaps/labelled?pretty=true', { accept: 'application/json' }],
      ['JSON as curl asks (pretty by user agent)', '/api/v1/namespaces/default/configmaps/labelled', { accept: 'application/json', 'user-agent': 'curl/8.5.0' }],
      ['YAML', '/api/v1/namespaces/default/configmaps/labelled', { accept: 'application/yaml' }],
      ['a labelled list, pretty', '/api/v1/namespaces/default/configmaps?labelSelector=app%3Dweb&pretty=true', { accept: 'application/json' }],
    ];
    let n = 0;
    for (const [what, path, headers] of reads) {
      const r = await cluster.request(path, { headers }).catch((e: Error) => ({ status: 0, body: `connection failed: ${e.message}` }));
      t.equal(r.status, 200, `${what}: 200 (${r.body.slice(0, 200)})`);
      t.match(r.body, /app"?: "?web/, `${what}: the labels are in the answer`);
      const c = await cluster.kubectl(['create', 'configmap', `after-read-${n++}`, '--from-literal=a=b']);
      t.equal(c.code, 0, `a create after the ${what} read succeeds (${c.stderr.trim()})`);
    }
    const ready = await cluster.request('/readyz').catch((e: Error) => ({ status: 0, body: e.message }));
    t.equal(ready.status, 200, 'the API server is still up');
    const log = await readFile(cluster.logs.apiserver, 'utf8');
    t.notMatch(log, /SIGSEGV|fatal error:|panic:/, 'the API server log shows no crash');
  });

  await t.test('apply a namespace and a ConfigMap from stdin, read them back', async (t) => {
    await cluster.applyYaml(`apiVersion: v1
kind: Namespace
metadata:
  name: e2e-smoke
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
  namespace: e2e-smoke
data:
  hello: world
`);
    const r = await cluster.kubectl(['get', 'configmap', 'greeting', '-n', 'e2e-smoke', '-o', 'json']);
    t.equal(r.code, 0, `kubectl get exits 0 (stderr: ${r.stderr})`);
    const cm = JSON.parse(r.stdout) as { metadata?: { namespace?: string }; data?: Record<string, string> };
    t.equal(cm.metadata?.namespace, 'e2e-smoke');
    t.same(cm.data, { hello: 'world' });
  });

  await t.test('server-side dry run goes through admission without persisting', async (t) => {
    const r = await cluster.applyYaml(
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: dry
  namespace: e2e-smoke
data:
  a: b
`,
      ['--dry-run=server'],
    );
    t.match(r.stdout, /configmap\/dry created \(server dry run\)/);
    const get = await cluster.kubectl(['get', 'configmap', 'dry', '-n', 'e2e-smoke']);
    t.not(get.code, 0, 'the dry-run object was not stored');
    t.match(get.stderr, /NotFound|not found/);

    // A namespace that does not exist is rejected by the server (admission), not by kubectl.
    const bad = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: no-such-ns\n',
    });
    t.not(bad.code, 0, 'a ConfigMap in a missing namespace is rejected');
    t.match(bad.stderr, /not found/);
  });

  await t.test('RBAC is enforced for other users', async (t) => {
    const alice = await cluster.userKubeconfig('alice', ['developers']);
    const denied = await alice.kubectl(['get', 'configmaps', '-n', 'e2e-smoke']);
    t.not(denied.code, 0, 'alice has no permission yet');
    t.match(denied.stderr, /forbidden/i);

    await cluster.applyYaml(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: cm-reader
  namespace: e2e-smoke
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: developers-read-cm
  namespace: e2e-smoke
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: cm-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: developers
- kind: ServiceAccount
  name: robot
  namespace: e2e-smoke
`);
    const allowed = await alice.kubectl(['get', 'configmap', 'greeting', '-n', 'e2e-smoke', '-o', 'name']);
    t.equal(allowed.code, 0, `alice reads through her group (stderr: ${allowed.stderr})`);
    t.equal(allowed.stdout.trim(), 'configmap/greeting');

    const robot = await cluster.serviceAccountKubeconfig('e2e-smoke', 'robot');
    const asRobot = await robot.kubectl(['get', 'configmaps', '-n', 'e2e-smoke', '-o', 'name']);
    t.equal(asRobot.code, 0, `the service account is bound (stderr: ${asRobot.stderr})`);
    const robotWrite = await robot.kubectl(['delete', 'configmap', 'greeting', '-n', 'e2e-smoke']);
    t.not(robotWrite.code, 0, 'but it may not delete');
  });
});
