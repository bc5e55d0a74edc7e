// End-to-end smoke test of the harness itself: a real etcd + kube-apiserver
// (built by test/e2e/kube/build.sh) and the real kubectl.
import t from 'tap';
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
