import { defineRule, NO_PARAMS } from '../engine/rule.js'

export const rule = defineRule({
  id: 'image-pull-policy-never',
  title: 'imagePullPolicy is Never',
  defaultAction: 'warn',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'imagePullPolicy: Never only works on nodes that already have the image.',
    description:
      'With imagePullPolicy: Never the kubelet never pulls the image; it must already be on the node. ' +
      'That holds for a preloaded kind or minikube node, rarely for a real cluster whose nodes come and go.',
    failure: 'On any node without the image the container waits in ErrImageNeverPull and never starts.',
    fix: 'Use imagePullPolicy: IfNotPresent (or leave it out) and push the image to a registry the nodes can reach.',
  },
  check(pod) {
    return pod.containers
      .filter((c) => c.spec.imagePullPolicy === 'Never')
      .map((c) => ({
        path: `${c.path}.imagePullPolicy`,
        container: c.name,
        message: `container "${c.name}" has imagePullPolicy: Never, so it starts only on nodes that already hold ${c.spec.image ?? 'its image'}; elsewhere it stays in ErrImageNeverPull`,
        fix: 'set imagePullPolicy: IfNotPresent (or remove the field) and publish the image to a registry the nodes can pull from',
      }))
  },
})
