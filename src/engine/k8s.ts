/**
 * The parts of the Kubernetes pod spec the rules read, as checked shapes. Types are derived
 * from the shapes, so what a rule can read is exactly what was checked.
 */
import { object, list, record, str, int, bool, intOrString, quantityText, anything, type ShapeType } from './shape.js'

const keyToPath = object({ key: str, path: str, mode: int })

const envVarSource = object({
  configMapKeyRef: object({ name: str, key: str, optional: bool }),
  secretKeyRef: object({ name: str, key: str, optional: bool }),
  fieldRef: object({ fieldPath: str, apiVersion: str }),
  resourceFieldRef: object({ resource: str, containerName: str, divisor: quantityText }),
})

export const envVarShape = object({ name: str, value: str, valueFrom: envVarSource })

export const envFromShape = object({
  prefix: str,
  configMapRef: object({ name: str, optional: bool }),
  secretRef: object({ name: str, optional: bool }),
})

const execAction = object({ command: list(str) })
const httpGetAction = object({ path: str, port: intOrString, host: str, scheme: str, httpHeaders: list(object({ name: str, value: str })) })
const tcpSocketAction = object({ port: intOrString, host: str })
const grpcAction = object({ port: int, service: str })

export const probeShape = object({
  exec: execAction,
  httpGet: httpGetAction,
  tcpSocket: tcpSocketAction,
  grpc: grpcAction,
  initialDelaySeconds: int,
  timeoutSeconds: int,
  periodSeconds: int,
  successThreshold: int,
  failureThreshold: int,
  terminationGracePeriodSeconds: int,
})

const lifecycleHandler = object({
  exec: execAction,
  httpGet: httpGetAction,
  tcpSocket: tcpSocketAction,
  sleep: object({ seconds: int }),
})

const resourcesShape = object({ limits: record(quantityText), requests: record(quantityText) })

export const containerShape = object({
  name: str,
  image: str,
  imagePullPolicy: str,
  command: list(str),
  args: list(str),
  workingDir: str,
  env: list(envVarShape),
  envFrom: list(envFromShape),
  ports: list(object({ name: str, containerPort: int, protocol: str, hostPort: int })),
  resources: resourcesShape,
  livenessProbe: probeShape,
  readinessProbe: probeShape,
  startupProbe: probeShape,
  lifecycle: object({ postStart: lifecycleHandler, preStop: lifecycleHandler }),
  volumeMounts: list(object({ name: str, mountPath: str, subPath: str, readOnly: bool })),
  volumeDevices: list(object({ name: str, devicePath: str })),
  stdin: bool,
  tty: bool,
  restartPolicy: str,
  securityContext: anything,
  targetContainerName: str,
})

const labelSelectorRequirement = object({ key: str, operator: str, values: list(str) })
export const labelSelectorShape = object({ matchLabels: record(str), matchExpressions: list(labelSelectorRequirement) })

const nodeSelectorRequirement = object({ key: str, operator: str, values: list(str) })
const nodeSelectorTerm = object({ matchExpressions: list(nodeSelectorRequirement), matchFields: list(nodeSelectorRequirement) })

const podAffinityTerm = object({
  labelSelector: labelSelectorShape,
  namespaces: list(str),
  namespaceSelector: labelSelectorShape,
  topologyKey: str,
})

const volumeShape = object({
  name: str,
  configMap: object({ name: str, optional: bool, items: list(keyToPath) }),
  secret: object({ secretName: str, optional: bool, items: list(keyToPath) }),
  persistentVolumeClaim: object({ claimName: str, readOnly: bool }),
  projected: object({
    sources: list(
      object({
        configMap: object({ name: str, optional: bool, items: list(keyToPath) }),
        secret: object({ name: str, optional: bool, items: list(keyToPath) }),
        serviceAccountToken: anything,
        downwardAPI: anything,
      }),
    ),
  }),
  emptyDir: object({ medium: str, sizeLimit: quantityText }),
  hostPath: object({ path: str, type: str }),
})

export const podSpecShape = object({
  containers: list(containerShape),
  initContainers: list(containerShape),
  ephemeralContainers: list(containerShape),
  restartPolicy: str,
  terminationGracePeriodSeconds: int,
  activeDeadlineSeconds: int,
  nodeSelector: record(str),
  nodeName: str,
  affinity: object({
    nodeAffinity: object({
      requiredDuringSchedulingIgnoredDuringExecution: object({ nodeSelectorTerms: list(nodeSelectorTerm) }),
    }),
    podAntiAffinity: object({ requiredDuringSchedulingIgnoredDuringExecution: list(podAffinityTerm) }),
    podAffinity: object({ requiredDuringSchedulingIgnoredDuringExecution: list(podAffinityTerm) }),
  }),
  tolerations: list(object({ key: str, operator: str, value: str, effect: str, tolerationSeconds: int })),
  volumes: list(volumeShape),
  serviceAccountName: str,
  serviceAccount: str,
  automountServiceAccountToken: bool,
  imagePullSecrets: list(object({ name: str })),
  overhead: record(quantityText),
  priorityClassName: str,
  runtimeClassName: str,
  hostNetwork: bool,
  schedulerName: str,
})

export const objectMetaShape = object({
  name: str,
  generateName: str,
  namespace: str,
  labels: record(str),
  annotations: record(str),
  uid: str,
  ownerReferences: list(object({ apiVersion: str, kind: str, name: str, uid: str, controller: bool })),
})

export type Container = ShapeType<typeof containerShape>
export type Probe = ShapeType<typeof probeShape>
export type PodSpec = ShapeType<typeof podSpecShape>
export type EnvVar = ShapeType<typeof envVarShape>
export type ObjectMeta = ShapeType<typeof objectMetaShape>
export type LabelSelector = ShapeType<typeof labelSelectorShape>
export type Volume = NonNullable<PodSpec['volumes']>[number]
